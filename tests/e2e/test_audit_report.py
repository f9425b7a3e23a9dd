# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""access-report.html in a real browser (headless Chromium, as tests/e2e/test_docsite.py drives it): the page shows
every finding's target and the counts by severity, loads nothing from anywhere, and prints on A4 landscape.

The report is the audit of tests/simulators/seeds/audit-atlas.yml (one of every finding), made in-process."""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.apiaccess.ipwhitelist.plugins.module_utils import audit
from ansible_collections.apiaccess.ipwhitelist.plugins.plugin_utils.access_report import render_html
from ansible_collections.apiaccess.ipwhitelist.tests.e2e.test_audit_playbook import (
    AUDITOR, AUDITOR_PRIVATE, ORG, SEEDS, WC_KEY, pending, woodcore_seed,
)
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.atlas import AtlasSimulator
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.base import load_seed_file
from ansible_collections.apiaccess.ipwhitelist.tests.simulators.woodcore import WoodcoreSimulator

# Chromium's own traffic (component updates, time sync) is not the page's: quiet what can be, and count only the
# requests whose network isolation key is the page's site (file://)
CHROMIUM = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps']


def browser():
    found = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome'))), None)
    if not found:
        pytest.skip('no Chromium on this machine (scripts/test.sh installs the Debian package where it can)')
    return found


def chromium(tmp_path, name, *args):
    profile = tmp_path / ('profile-' + name)
    proc = subprocess.run([browser()] + CHROMIUM + ['--user-data-dir=%s' % profile] + list(args),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('report')
    with AtlasSimulator(seed=load_seed_file(str(SEEDS / 'audit-atlas.yml')), caller_ip='198.51.100.7') as atlas, \
            WoodcoreSimulator(seed=woodcore_seed('192.0.2.200')) as woodcore:
        args = dict(atlas_base_url=atlas.url, atlas_public_key=AUDITOR, atlas_private_key=AUDITOR_PRIVATE,
                    atlas_keys=[{'name': 'deploy', 'org_id': ORG, 'api_key': 'deploy01', 'purge': True},
                                {'name': 'other-org', 'org_id': '66a100000000000000000002', 'api_key': 'otherorg'}],
                    atlas_projects=[{'name': 'prod', 'project': 'prod', 'keep': ['198.51.100.50']}],
                    woodcore_keys=[{'name': 'payments', 'api_key': WC_KEY, 'ip': '198.51.100.254'}],
                    woodcore_base_url=woodcore.url + '/api/v2', woodcore_pending_requests=pending(48),
                    woodcore_pending_state_path=str(tmp / 'none.json'),
                    fleet={'web1': '203.0.113.10', 'web2': '203.0.113.11'}, audit_all=True, org_ids=[ORG],
                    atlas_cloud=True, report_dir=str(tmp / 'access-report'))
        validation = ArgumentSpecValidator(audit.argument_spec()).validate(args)
        assert not validation.error_messages
        result = audit.run(validation.validated_parameters, render_html)
    assert not result['failed'] and WC_KEY not in json.dumps(result)
    data = json.loads((tmp / 'access-report' / 'access-report.json').read_text())
    assert set(f['code'] for f in data['findings']) == set(c for c, _s in audit.CODES)  # one of every finding
    return tmp / 'access-report' / 'access-report.html', data


class Loads(html.parser.HTMLParser):
    """Every element and every attribute that could load something."""

    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.csp = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        for name in ('src', 'href', 'srcset', 'action', 'data', 'poster', 'background'):
            if attrs.get(name) is not None:
                self.urls.append(attrs[name])
        if tag == 'meta' and (attrs.get('http-equiv') or '').lower() == 'content-security-policy':
            self.csp = attrs.get('content')


def test_the_page_refers_to_nothing_outside_itself(report):
    path, _data = report
    markup = path.read_text(encoding='utf-8')
    parser = Loads()
    parser.feed(markup)
    assert not set(parser.tags) & {'script', 'link', 'img', 'iframe', 'object', 'embed', 'video', 'audio', 'source',
                                   'form', 'base'}
    assert parser.urls and all(url.startswith('#') for url in parser.urls), parser.urls  # in-page anchors only
    assert not re.search(r'url\(|@import', markup)
    assert "default-src 'none'" in parser.csp and "style-src 'unsafe-inline'" in parser.csp
    # every anchor lands on a section of the page
    ids = set(re.findall(r'\bid="([^"]+)"', markup))
    assert all(url[1:] in ids for url in parser.urls)


def page_requests(netlog_path):
    """URLs the page itself asked the network for (Chromium's netlog, requests of the page's site)."""
    log = json.loads(netlog_path.read_text())
    start = log['constants']['logEventTypes']['URL_REQUEST_START_JOB']
    return sorted(e['params']['url'] for e in log['events'] if e['type'] == start and 'url' in e.get('params', {})
                  and 'file://' in e['params'].get('network_isolation_key', ''))


class Canary(object):
    """A loopback HTTP server that records every request: what a page loading something would hit."""

    def __init__(self):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  # the http.server API
                hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_chromium_loads_nothing_and_the_check_would_see_a_load(report, tmp_path):
    path, _data = report
    netlog = tmp_path / 'netlog.json'
    dom = chromium(tmp_path, 'report', '--log-net-log=%s' % netlog, '--net-log-capture-mode=Everything',
                   '--dump-dom', path.as_uri())
    assert '</html>' in dom
    assert page_requests(netlog) == []
    # controls: the same page with an image from a loopback server, once without its Content-Security-Policy
    # (the netlog and the server both see the load: the check above can see one), once with it (blocked)
    canary = Canary()
    try:
        markup = path.read_text(encoding='utf-8').replace('<body>', '<body><img src="%s/canary.png">' % canary.url)
        for name, page in (('open', re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', '', markup)),
                           ('guarded', markup)):
            control = tmp_path / ('control-%s.html' % name)
            control.write_text(page, encoding='utf-8')
            log = tmp_path / ('netlog-%s.json' % name)
            chromium(tmp_path, name, '--log-net-log=%s' % log, '--net-log-capture-mode=Everything', '--dump-dom',
                     control.as_uri())
            loaded = page_requests(log)
            if name == 'open':
                assert loaded == [canary.url + '/canary.png'] and canary.hits == ['/canary.png']
            else:
                assert loaded == [] and canary.hits == ['/canary.png']  # no second hit
    finally:
        canary.stop()


def visible(markup):
    return re.sub(r'\s+', ' ', html.unescape(re.sub(r'<[^>]+>', ' ', markup)))


def test_the_page_shows_every_finding_s_target_and_the_counts(report, tmp_path):
    path, data = report
    dom = chromium(tmp_path, 'dom', '--dump-dom', path.as_uri())
    text = visible(dom)
    for severity in audit.SEVERITIES:
        block = re.search(r'data-severity="%s">(.*?)</div>' % severity, dom, re.S).group(1)
        assert visible(block).split() == [str(data['summary'][severity]), severity]
    rows = re.findall(r'<tr class="finding sev-(\w+)">(.*?)</tr>', dom, re.S)
    assert len(rows) == len(data['findings'])
    for (severity, row), finding in zip(rows, data['findings']):  # in the report's order: most severe first
        assert severity == finding['severity']
        assert finding['target']['name'] in visible(row) and finding['code'] in row
        assert (finding['entry'] or '') in visible(row)
    assert [s for s, _r in rows] == sorted((s for s, _r in rows), key=audit.SEVERITIES.index)
    for target in data['targets']:
        assert target['name'] in text
    # the unreadable targets are said so, with why
    assert 'Targets that could not be read' in text and 'USER_CANNOT_ACCESS_ORGANIZATION' in text


def test_a_screenshot_and_a_print(report, tmp_path):
    path, _data = report
    shot = tmp_path / 'access-report.png'
    chromium(tmp_path, 'shot', '--window-size=1400,2000', '--hide-scrollbars', '--screenshot=%s' % shot, path.as_uri())
    assert shot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and shot.stat().st_size > 50000
    pdf = tmp_path / 'access-report.pdf'
    chromium(tmp_path, 'print', '--no-pdf-header-footer', '--print-to-pdf=%s' % pdf, path.as_uri())
    boxes = set(re.findall(rb'/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]', pdf.read_bytes()))
    # @page: A4 landscape (842 x 595 points) on every page
    assert boxes and all(abs(float(w) - 842) < 1 and abs(float(h) - 595) < 1 for w, h in boxes), boxes
    pages = len(re.findall(rb'/Type\s*/Page\b', pdf.read_bytes()))
    assert pages >= 2
    keep = os.environ.get('AUDIT_REPORT_SCREENSHOT')
    if keep:  # for a person to look at: AUDIT_REPORT_SCREENSHOT=/tmp/shot.png
        shutil.copy(str(shot), keep)
