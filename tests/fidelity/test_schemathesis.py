# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A bounded schemathesis run over both official extracts against the Atlas simulator.

Every operation of tests/fidelity/specs/*.openapi.json gets schema-valid and schema-violating requests
(hypothesis, derandomized, MAX_EXAMPLES per mode and per kind of path: random IDs, and the seed's IDs so the
handlers behind the 404s run too), sent with digest auth and the operation's own Accept type, and each answer
goes through schemathesis' checks. What the extracts get wrong is patched (SCHEMA_QUIRKS) or allowed
(ALLOWED), each with its reason; any other failure fails the operation's test. Every operation also gets
one request without credentials, which must be refused with the digest challenge (what schemathesis'
ignored_auth check would probe; it cannot here, the session carries the credentials).

Runtime: the 20 operations take about 18 s of CPU on one core (``MAX_EXAMPLES`` bounds it): 22-36 s wall measured
here with ``-n 0``, and about 47 s wall on a busy machine."""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections import Counter, namedtuple

import pytest
import requests
from requests.auth import HTTPDigestAuth

from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import addresses
from ansible_collections.apiaccess.ipwhitelist.tests import hypothesis_support
from ansible_collections.apiaccess.ipwhitelist.tests.fidelity.contract import load
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.unit.conftest import (
    KEY_ID, ORG, PRIVATE, PROJECT, PUBLIC, SA_ID, atlas_seed,
)

schemathesis = pytest.importorskip('schemathesis', reason='schemathesis is pinned in requirements-dev.txt')
hypothesis = pytest.importorskip('hypothesis')

from schemathesis.config import SchemathesisConfig  # noqa: E402 pylint: disable=wrong-import-position
from schemathesis.generation import GenerationMode  # noqa: E402 pylint: disable=wrong-import-position

importlib.import_module('schemathesis.specs.openapi.checks')  # registers the OpenAPI checks by name

EXTRACTS = ('atlas-apikey-accesslist.openapi.json', 'atlas-access-lists.openapi.json')
MAX_EXAMPLES = 10
CHECKS = ('not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_headers_conformance',
          'response_schema_conformance', 'negative_data_rejection', 'positive_data_acceptance',
          'missing_required_header')
# the seed's IDs (tests/unit/conftest.py), so that some requests reach an existing key, account, project
SEEDED = {'orgId': ORG, 'apiUserId': KEY_ID, 'groupId': PROJECT, 'clientId': SA_ID}
BOOLEANS = ('includeCount', 'envelope', 'pretty', 'includeSystemManaged')


def _string_parameters(spec):
    spec['components']['schemas']['ApiError']['properties']['parameters']['items'] = {}


def _count_zero(spec):
    schemas = spec['components']['schemas']
    if 'UserAccessListResponse' in schemas:
        del schemas['UserAccessListResponse']['properties']['count']['minimum']


def _post_201(spec):
    post = spec['paths'].get('/api/atlas/v2/groups/{groupId}/accessList', {}).get('post')
    if post:
        post['responses']['201'] = post['responses']['200']


# What the extracts say that real traffic contradicts: patched before the run.
SCHEMA_QUIRKS = (
    (_string_parameters, 'ApiError.parameters: the extracts say objects; real errors carry plain values, e.g. '
                         '[caller IP] (shared/specs README, "parameters = [caller IP]") [R]'),
    (_count_zero, 'UserAccessListResponse.count has minimum 1; recorded entries carry count 0 '
                  '(atlas-recorded/README.md) [R]'),
    (_post_201, 'createGroupAccessListEntry lists 200; real traffic answers 201 (30 of 30 recorded POSTs) [R]'),
)

ADDRESS_PARAMETERS = ('ipAddress', 'entryValue')  # the path parameters that carry an entry
ADDRESS_FIELDS = ('ipAddress', 'cidrBlock', 'awsSecurityGroup')  # an element's entry: exactly one of them


def is_entry(value, field='cidrBlock'):
    """Whether the project's address model (netaddr, plugins/module_utils/addresses.py) takes ``value`` as one
    entry; an ``ipAddress`` field takes no prefix; a security group (sg-...) is not an address but an entry."""
    if not isinstance(value, str) or (field == 'ipAddress' and '/' in value):
        return False
    if field != 'ipAddress' and value.startswith('sg-'):
        return True
    try:
        addresses.parse_network(value, allow_any=True)
    except addresses.AddressError:
        return False
    return True


def elements(case):
    return case.body if isinstance(case.body, list) else []


def carries_a_bad_address(case):
    """The request names an entry the address model refuses: a path value (as generated; a literal "%2F" in it
    reaches the server as "%2F"), or an element's address field. A valid address refused is no excuse."""
    for name, value in (case.path_parameters or {}).items():
        if name in ADDRESS_PARAMETERS and not is_entry(str(value)):
            return True
    for element in elements(case):
        if not isinstance(element, dict):
            continue
        if not is_entry(element.get('ipAddress') or element.get('cidrBlock') or element.get('awsSecurityGroup')):
            return True  # the value the element names (as the simulator picks it)
        if any(element[field] is not None and not is_entry(element[field], field)
               for field in ('ipAddress', 'cidrBlock') if field in element):
            return True
    return False


def not_one_address_field(case):
    """Some element is no object, or carries none or more than one of the address fields (counting a field given
    as null or empty either way)."""
    for element in elements(case):
        if not isinstance(element, dict):
            return True
        present = [field for field in ADDRESS_FIELDS if field in element]
        given = [field for field in present if element[field] not in (None, '')]
        if len(present) != 1 or len(given) != 1:
            return True
    return False


# invalid: None, or a function of the case that must say the generated input is invalid before a failure is excused
Allowed = namedtuple('Allowed', 'failures status codes reason invalid')
BAD_ADDRESS = ('INVALID_IP_ADDRESS_OR_CIDR_NOTATION',)
# Failures that are the extracts' fault, not the simulator's: (failure classes, status, errorCodes, reason).
ALLOWED = (
    Allowed(('UndefinedStatusCode',), 400, ('PATH_PARAM_PARSE_ERROR',),
            'the GET operations list no 400, yet a malformed ID in the path is answered 400 PATH_PARAM_PARSE_ERROR '
            'in real traffic (the public key as apiUserId, shared/specs README) [R]', None),
    Allowed(('UndefinedStatusCode',), 400, ('INVALID_QUERY_PARAMETER',),
            'the GET operations list no 400, yet pageNum must be >= 1 and itemsPerPage 1..500 [V]; the simulator '
            'answers a bad value 400 INVALID_QUERY_PARAMETER (the answer and its code [I]: its choice, not the '
            "extracts'; no module sends bad paging), as a non-boolean under query_boolean=strict", None),
    Allowed(('RejectedPositiveData', 'UndefinedStatusCode'), 400, BAD_ADDRESS,
            'the address patterns are unanchored alternations ("^a|b|c$") that also admit repeated prefixes, '
            'octets over 255 and trailing junk, and a path value may carry a literal "%2F" that is sent encoded '
            'again; such a schema-valid string is no address: 400 INVALID_IP_ADDRESS_OR_CIDR_NOTATION, the '
            'documented answer [V], a status the GET/DELETE operations do not list', carries_a_bad_address),
    Allowed(('RejectedPositiveData',), 400, ('INVALID_JSON',),
            'the request bodies are arrays without minItems; an empty array is refused: the body is a non-empty '
            'JSON array (shared/specs README) [V]', None),
    Allowed(('RejectedPositiveData',), 400, ('INVALID_ATTRIBUTE',
                                             'MULTIPLE_VALUES_SPECIFIED_FOR_ONE_NETWORK_PERMISSION_ENTRY'),
            'the entry schemas require nothing and allow every field together; each element needs exactly one of '
            'ipAddress / cidrBlock (/ awsSecurityGroup), "not both in the same request" (the same schemas\' '
            'descriptions) [V]', not_one_address_field),
    Allowed(('RejectedPositiveData',), 400, ('CANNOT_USE_AWS_SECURITY_GROUP_WITHOUT_VPC_PEERING_CONNECTION',
                                             'NETWORK_PERMISSION_EXPIRATION_NOT_SUPPORTED', 'EXPIRATION_DATE_IN_PAST',
                                             'EXPIRATION_DATE_EXCEEDS_MAX'),
            'rules the project entry schema states only in prose: a security group needs VPC peering and cannot '
            'expire, deleteAfterDate lies within the next week [V]', None),
    Allowed(('AcceptedNegativeData',), 200, None,
            'only boolean query parameters were invalid (e.g. pretty=null): what Atlas does with them is [U], the '
            'simulator\'s setting query_boolean; its default, lenient, reads them as false', None),
)


@pytest.fixture
def reproducible_generation(monkeypatch):
    """The same requests every run, whatever ran before (tests/hypothesis_support.py says how and why)."""
    with hypothesis_support.reproducible_generation(monkeypatch):
        yield


def extract(name):
    spec = load(name)
    for patch, dummy_reason in SCHEMA_QUIRKS:
        patch(spec)
    return spec


def operations():
    for name in EXTRACTS:
        for path, item in sorted(load(name)['paths'].items()):
            for method in sorted(item):
                yield pytest.param(name, method.upper(), path, id='%s %s' % (method.upper(), path))


def error_code(response):
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get('errorCode') if isinstance(body, dict) else None


def only_booleans_invalid(failure):
    """AcceptedNegativeData whose invalid components are boolean query parameters only."""
    match = re.search(r'Invalid component: parameters? (.*?) in query', str(failure))
    names = re.findall(r'`([^`]+)`', match.group(1)) if match else []
    return bool(names) and set(names) <= set(BOOLEANS) and 'in body' not in str(failure) and \
        'in path' not in str(failure) and 'in header' not in str(failure)


def allowed(failure, response, case):
    code = error_code(response)
    for rule in ALLOWED:
        if type(failure).__name__ not in rule.failures or response.status_code != rule.status:
            continue
        if rule.invalid is not None and not rule.invalid(case):
            continue  # the generated input is valid: the refusal is the simulator's fault
        if rule.codes is None and only_booleans_invalid(failure):
            return rule
        if rule.codes is not None and code in rule.codes:
            return rule
    return None


@pytest.mark.parametrize('extract_name, method, path', list(operations()))
def test_schemathesis_finds_nothing_the_specs_do_not_explain(reproducible_generation, extract_name, method, path):
    from hypothesis import HealthCheck, Phase, given, settings

    schema = schemathesis.openapi.from_dict(extract(extract_name), config=SchemathesisConfig())
    operation = schema.find_operation_by_label('%s %s' % (method, path))
    raw = load(extract_name)['paths'][path][method.lower()]
    media = [m for code, answer in raw['responses'].items() if code.startswith('2')
             for m in answer.get('content', {}) if 'preview' not in m]
    accept = media[0] if media else 'application/vnd.atlas.2023-01-01+json'
    checks = schemathesis.checks.CHECKS.get_by_names(list(CHECKS))
    unexplained, explained, sent = [], Counter(), Counter()
    with AtlasSimulator(seed=atlas_seed()) as sim:
        # no credentials (else a well-formed request): refused with the digest challenge
        body = [{'ipAddress': '192.0.2.1'}] if method == 'POST' else None
        url = sim.url + re.sub(r'\{(\w+)\}', lambda m: SEEDED.get(m.group(1), '192.0.2.1'), path)
        content_type = list(raw.get('requestBody', {}).get('content', {accept: None}))[0]
        bare = requests.request(method, url, json=body, headers={'Accept': accept, 'Content-Type': content_type})
        assert bare.status_code == 401 and bare.headers['WWW-Authenticate'].startswith('Digest realm="MMS Public API"')
        session = requests.Session()
        session.auth = HTTPDigestAuth(PUBLIC, PRIVATE)
        session.headers['Accept'] = accept
        names = set(p.name for p in operation.path_parameters)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for seeded in (False, True):
                fixed = dict((k, v) for k, v in SEEDED.items() if k in names) if seeded else {}
                if seeded and not fixed:
                    continue

                @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
                @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                def run(case):
                    response = case.call(session=session, base_url=sim.url)
                    sent[mode.value] += 1
                    try:
                        case.validate_response(response, checks=checks)
                    except BaseException as error:  # a FailureGroup (an ExceptionGroup) or one Failure
                        for failure in getattr(error, 'exceptions', [error]):
                            rule = allowed(failure, response, case)
                            if rule is not None:
                                explained[rule.reason[:60]] += 1
                            else:
                                unexplained.append('%s (%s %s) -> %s %s\n%s\n%s' % (
                                    type(failure).__name__, mode.value, 'seeded IDs' if seeded else 'random IDs',
                                    response.status_code, response.content[:300], case.as_curl_command(),
                                    str(failure)[:600]))

                run()
    assert sent['positive'] >= MAX_EXAMPLES // 2 and sent['negative'] >= 1, sent
    assert not unexplained, '\n\n'.join(unexplained[:5])


def test_the_allow_list_names_a_reason_and_a_failure_class_for_each_entry():
    assert len(set(rule.reason for rule in ALLOWED)) == len(ALLOWED)
    for rule in ALLOWED:
        assert rule.failures and len(rule.reason) > 40 and re.search(r'\[[VRIU]\]', rule.reason), rule
    for dummy_patch, reason in SCHEMA_QUIRKS:
        assert re.search(r'\[[VRIU]\]', reason)


def test_the_quirks_are_still_quirks_of_the_extracts():
    # each patch changes the extract it applies to: a quirk fixed upstream shows up here (drop its patch)
    for patch, reason in SCHEMA_QUIRKS:
        assert any(extract_changed(name, patch) for name in EXTRACTS), reason


def extract_changed(name, patch):
    original = load(name)
    patched = copy.deepcopy(original)
    patch(patched)
    return patched != original


class RejectedPositiveData(Exception):
    """Stands in for schemathesis' failure of that name (allowed() goes by the class name)."""


class Answer(object):
    def __init__(self, status, code):
        self.status_code = status
        self.content = json.dumps({'error': status, 'errorCode': code}).encode()


class Case(object):
    def __init__(self, path_parameters=None, body=None):
        self.path_parameters = path_parameters or {}
        self.body = body


BAD = Answer(400, 'INVALID_IP_ADDRESS_OR_CIDR_NOTATION')


@pytest.mark.parametrize('case', [
    Case({'apiUserId': KEY_ID, 'ipAddress': '2001:db8::1'}), Case({'ipAddress': '2001:db8::/32'}),
    Case({'entryValue': '192.0.2.1'}), Case({'entryValue': 'sg-0123abcd'}),
    Case(body=[{'ipAddress': '2001:db8::7'}]), Case(body=[{'cidrBlock': '198.51.100.0/24'}, {'ipAddress': '192.0.2.1'}]),
], ids=['ipv6 path', 'ipv6 cidr path', 'ipv4 path', 'security group', 'ipv6 body', 'two valid elements'])
def test_a_valid_address_refused_is_not_excused(case):
    """A simulator regression that refuses a valid address (here IPv6) must fail the run, not pass as a quirk."""
    assert allowed(RejectedPositiveData(), BAD, case) is None


@pytest.mark.parametrize('case', [
    Case({'ipAddress': '1.2.3.4%2F24'}), Case({'ipAddress': '999.1.1.1'}), Case({'entryValue': '10.0.0.1junk'}),
    Case({'ipAddress': '1::1:2%2f3'}), Case(body=[{'ipAddress': '192.0.2.0/24'}]), Case(body=[{'cidrBlock': '10.0.0.1/8'}]),
    Case(body=[{'ipAddress': '192.0.2.1'}, {'cidrBlock': '300.0.0.0/8'}]), Case(body=[{'ipAddress': None}]),
], ids=['literal %2F', 'octet over 255', 'trailing junk', 'ipv6 %2f', 'prefix in ipAddress', 'host bits',
        'second element', 'null'])
def test_a_bad_address_refused_is_excused(case):
    assert allowed(RejectedPositiveData(), BAD, case).codes == BAD_ADDRESS


@pytest.mark.parametrize('body, excused', [
    ([{'ipAddress': '192.0.2.1'}], False), ([{'cidrBlock': '2001:db8::/32'}], False),
    ([{'awsSecurityGroup': 'sg-0123abcd', 'comment': 'x'}], False),
    ([{}], True), ([{'comment': 'x'}], True), ([{'ipAddress': '192.0.2.1', 'cidrBlock': '192.0.2.1/32'}], True),
    ([{'ipAddress': None}], True), ([{'ipAddress': '192.0.2.1'}, 'x'], True),
])
@pytest.mark.parametrize('code', ['INVALID_ATTRIBUTE', 'MULTIPLE_VALUES_SPECIFIED_FOR_ONE_NETWORK_PERMISSION_ENTRY'])
def test_invalid_attribute_is_excused_only_without_exactly_one_address_field(body, excused, code):
    rule = allowed(RejectedPositiveData(), Answer(400, code), Case(body=body))
    assert (rule is not None) == excused
