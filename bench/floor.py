# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The floor: a plain requests script making exactly the minimal requests, sequentially.

    python bench/floor.py keys.json   (written by bench/fleet_rollout.py)
"""

from __future__ import annotations

import ipaddress
import json
import sys
from urllib.parse import quote

import requests
from requests.auth import HTTPDigestAuth

MEDIA = 'application/vnd.atlas.2023-01-01+json'


def main(path):
    spec = json.load(open(path))
    wanted = set(ipaddress.ip_network(a) for a in spec['addresses'])
    atlas = requests.Session()
    atlas.auth = HTTPDigestAuth(spec['public_key'], spec['private_key'])
    atlas.headers.update({'Accept': MEDIA})
    count = 0
    for key in spec['atlas_keys']:
        base = '%s/api/atlas/v2/orgs/%s/apiKeys/%s/accessList' % (spec['atlas_url'], key['org_id'], key['api_key'])
        current, page = {}, 1
        while True:
            results = atlas.get(base, params={'pageNum': page, 'itemsPerPage': 500}).json()['results']
            count += 1
            for item in results:
                current[ipaddress.ip_network(item['cidrBlock'])] = item.get('ipAddress') or item['cidrBlock']
            if len(results) < 500:
                break
            page += 1
        missing = sorted(wanted - set(current))
        if missing:
            body = [{'ipAddress': str(n.network_address)} if n.prefixlen == 32 else {'cidrBlock': str(n)}
                    for n in missing]
            atlas.post(base, json=body, headers={'Content-Type': MEDIA}).raise_for_status()
            count += 1
        for net in sorted(set(current) - wanted):
            atlas.delete('%s/%s' % (base, quote(current[net], safe=''))).raise_for_status()
            count += 1
    for key in spec['woodcore_keys']:
        headers = {'Authorization': 'Bearer ' + key['api_key']}
        profile = requests.get(spec['woodcore_url'] + '/gateway/keyprofile', headers=headers).json()['data']
        count += 1
        if profile.get('whitelistedIp') != key['ip']:
            requests.post(spec['woodcore_url'] + '/gateway/apiKeys/ipwhitelist', json={'ips': key['ip']},
                          headers=headers).raise_for_status()
            count += 1
    print(json.dumps({'requests': count}))


if __name__ == '__main__':
    main(sys.argv[1])
