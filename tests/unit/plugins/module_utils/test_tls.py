# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""TLS: the simulators serve HTTPS with a CA made by the test; validation, ca_path, validate_certs=false."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import threading

import pytest

cryptography = pytest.importorskip('cryptography')

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import http_client  # noqa: E402
from ansible_collections.apiaccess.ipwhitelist.plugins.modules import atlas_apikey_whitelist as module  # noqa: E402
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator  # noqa: E402
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (  # noqa: E402
    KEY_ID, ORG, PRIVATE, PUBLIC, atlas_seed, run_module, warning_texts,
)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1, as PEM files."""
    directory = tmp_path_factory.mktemp('pki')
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name('apiaccess test CA')).issuer_name(_name('apiaccess test CA'))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name('127.0.0.1')).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                           critical=False)
            # Python 3.13 verifies strictly (X509_STRICT): key identifiers are required
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {name: str(directory / name) for name in ('ca.pem', 'cert.pem', 'key.pem')}
    with open(paths['ca.pem'], 'wb') as handle:
        handle.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths['cert.pem'], 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths['key.pem'], 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return paths


@pytest.fixture
def https_atlas(pki):
    sim = AtlasSimulator(seed=atlas_seed())
    sim.start(certfile=pki['cert.pem'], keyfile=pki['key.pem'])
    assert sim.url.startswith('https://')
    yield sim
    sim.stop()


def args(sim, **kwargs):
    return dict(base_url=sim.url, org_id=ORG, api_key=KEY_ID, public_key=PUBLIC, private_key=PRIVATE,
                entries=['203.0.113.5'], **kwargs)


def test_unknown_ca_fails_clearly_and_changes_nothing(capsys, https_atlas):
    failed, result = run_module(capsys, module.main, args(https_atlas, retries=0))
    assert failed and 'TLS certificate verification failed' in result['msg'] and 'ca_path' in result['msg']
    assert https_atlas.log == []


def test_ca_path_makes_it_pass(capsys, https_atlas, pki):
    failed, result = run_module(capsys, module.main, args(https_atlas, ca_path=pki['ca.pem']))
    assert not failed and result['added'] == ['203.0.113.5/32']


# one unverified request on purpose (the module warns itself); marked here, because ansible-test units runs
# pytest with its own configuration, which does not read this repository's pytest.ini
@pytest.mark.filterwarnings('ignore:Unverified HTTPS request:urllib3.exceptions.InsecureRequestWarning')
def test_validate_certs_false_works_and_warns(capsys, https_atlas):
    failed, result = run_module(capsys, module.main, args(https_atlas, validate_certs=False))
    assert not failed and result['changed']
    assert any('validate_certs=false' in w for w in warning_texts(result))


@pytest.fixture
def bad_record_server(pki):
    """A TLS server that reads the whole request (and so may have acted on it), then answers with a record that
    fails to decrypt: the TLS error comes after the request was sent, as from a proxy failing mid-answer."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki['cert.pem'], pki['key.pem'])
    listener = socket.create_server(('127.0.0.1', 0))
    received = []

    def serve():
        raw, dummy = listener.accept()
        with context.wrap_socket(raw, server_side=True) as tls:
            data = b''
            while b'\r\n\r\n' not in data:
                data += tls.recv(65536)
            received.append(data)
            raw_again = socket.socket(fileno=os.dup(tls.fileno()))
            raw_again.sendall(b'\x17\x03\x03\x00\x40' + b'\x01' * 64)  # application data nobody can decrypt
            raw_again.close()
            tls.recv(1)  # until the client gives up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield 'https://127.0.0.1:%d' % listener.getsockname()[1], received
    thread.join(5)
    listener.close()


def test_a_tls_error_after_a_write_was_sent_leaves_its_outcome_unknown(bad_record_server, pki):
    """A TLS error other than a refused certificate may come after the server acted: the write is journaled as of
    unknown outcome (so changed is true and the engine re-reads), never as 'not applied', and the message does not
    blame the certificate."""
    url, received = bad_record_server
    client = http_client.ApiClient(url, ca_path=pki['ca.pem'], retries=0, retry_max_wait=0)
    with pytest.raises(http_client.ApiError) as failure:
        client.request('POST', '/x', json=[1], write=http_client.Write('/x', 'add', ['203.0.113.5/32']))
    assert received and received[0].startswith(b'POST /x ')
    assert failure.value.outcome_unknown and failure.value.ambiguous
    assert 'TLS error' in str(failure.value) and 'certificate verification' not in str(failure.value)
    assert 'may or may not have been applied' in str(failure.value)
    assert client.journal.changed() and client.journal.items('add', http_client.UNKNOWN) == ['203.0.113.5/32']


def test_a_certificate_for_another_name_is_a_certificate_failure_sending_nothing(capsys, https_atlas, pki):
    """The certificate names 127.0.0.1; reached as localhost, the hostname check refuses it in the handshake,
    before anything is sent: a certificate failure, not a TLS error of unknown outcome."""
    sim_args = args(https_atlas, ca_path=pki['ca.pem'], retries=0)
    sim_args['base_url'] = https_atlas.url.replace('127.0.0.1', 'localhost')
    failed, result = run_module(capsys, module.main, sim_args)
    assert failed and 'TLS certificate verification failed' in result['msg'] and not result['changed']
    assert 'outcome_unknown' not in result and https_atlas.log == []
