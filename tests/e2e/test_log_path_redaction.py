# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 19, item 9: the OTP never reaches Ansible's log file.

fleet_converge runs in the controller process, where Ansible's ``log_path`` is a handler on the root logger.
When an approve's connection breaks, urllib3 logs ``Retrying (...) after connection broken by ...:
/api/v2/gateway/apiKeys/ipwhitelist/approve/<otp>`` at WARNING, and a788d62 wrote it to that file as it was.
"""

from __future__ import annotations

import http.client
import socket
import threading

import requests

from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import WC_KEY


class OneShotGateway(object):
    """A loopback gateway front that serves exactly one connection, forwarded to the Woodcore simulator (the
    profile read), and closes its port as soon as it has accepted it: the approve that follows finds the port
    closed (connection refused), as when a gateway restarts between two requests."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.url = 'http://127.0.0.1:%d' % self.sock.getsockname()[1]
        self.seen = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _address = self.sock.accept()
        self.sock.close()  # nobody connects again
        with conn:
            data = b''
            while b'\r\n\r\n' not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head = data.split(b'\r\n\r\n', 1)[0].decode('latin-1').split('\r\n')
            method, path, _version = head[0].split(' ')
            self.seen.append((method, path))
            headers = dict(line.split(': ', 1) for line in head[1:] if ': ' in line)
            headers.pop('Host', None)
            host, port = self.upstream.split('//', 1)[1].split(':')
            upstream = http.client.HTTPConnection(host, int(port), timeout=10)
            upstream.request(method, path, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
            conn.sendall(('HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n'
                          'Connection: close\r\n\r\n' % (answer.status, answer.reason, len(body))).encode() + body)


def test_an_approve_whose_connection_breaks_leaves_no_otp_in_the_log_file(woodcore, ansible_playbook, tmp_path):
    # a request pending approval, and the OTP its email carries
    requests.post(woodcore.url + '/api/v2/gateway/apiKeys/ipwhitelist', json={'ips': '203.0.113.8'},
                  headers={'Authorization': 'Bearer %s' % WC_KEY}, timeout=10).raise_for_status()
    otp = woodcore.emails()[0]['otp']
    gateway = OneShotGateway(woodcore.url)
    log = tmp_path / 'ansible.log'
    run = ansible_playbook('fleet_woodcore_approve.yml', '-vvvv', env={'ANSIBLE_LOG_PATH': str(log)}, extra_vars=dict(
        gateway_url=gateway.url, api_key=WC_KEY, otp=otp, ledger=str(tmp_path / 'pending.json')))
    assert run.rc == 0 and run.recap()['failed'] == 0, run.output[-3000:]
    assert gateway.seen == [('GET', '/api/v2/gateway/keyprofile')]
    text = log.read_text()
    # the connection did break at the approve, and urllib3's warning was logged, redacted
    retrying = [line for line in text.splitlines() if 'Retrying' in line]
    assert retrying and all('/approve/********' in line for line in retrying), text[-3000:]
    assert otp not in text and WC_KEY not in text
    assert otp not in run.output and WC_KEY not in run.output
    assert woodcore.key_state('payments-sandbox')['pending_ip'] == '203.0.113.8'  # nothing was approved
