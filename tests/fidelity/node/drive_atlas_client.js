// Copyright (c) apiaccess.ipwhitelist contributors
// GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
// SPDX-License-Identifier: GPL-3.0-or-later
//
// Drives the npm package mongodb-atlas-api-client, configured the way its README says, through every
// access-list call it has (the project IP access list, v1.0 accessList and the retired whitelist) against
// the base URL given as JSON in argv[2]: {"baseUrl", "publicKey", "privateKey", "projectId"}.
// Prints one JSON array: [{step, ok, data | error}]. The client returns the body only (no status), so
// most calls ask for envelope=true, as its README's example does, to see the status in the body.
'use strict';

const getClient = require('mongodb-atlas-api-client');

async function main() {
  const config = JSON.parse(process.argv[2]);
  const {projectAccesslist, projectWhitelist} = getClient({
    'publicKey': config.publicKey,
    'privateKey': config.privateKey,
    'baseUrl': config.baseUrl,
    'projectId': config.projectId
  });
  const options = {'envelope': true, 'httpOptions': {'timeout': 10000}};
  const steps = [
    ['create', () => projectAccesslist.create([{'ipAddress': '203.0.113.5', 'comment': 'npm client'}], options)],
    ['create-cidr', () => projectAccesslist.create([{'cidrBlock': '198.51.100.0/24'}], options)],
    ['update', () => projectAccesslist.update([{'ipAddress': '203.0.113.5', 'comment': 'renamed'}], options)],
    ['getAll', () => projectAccesslist.getAll({})],
    ['getAll-page1', () => projectAccesslist.getAll({...options, 'itemsPerPage': 1, 'pretty': true})],
    ['getAll-page2', () => projectAccesslist.getAll({...options, 'itemsPerPage': 1, 'pageNum': 2})],
    ['get', () => projectAccesslist.get('203.0.113.5', options)],
    ['get-cidr', () => projectAccesslist.get('198.51.100.0%2F24', options)],
    ['delete', () => projectAccesslist.delete('203.0.113.5', options)],
    ['get-deleted', () => projectAccesslist.get('203.0.113.5', options)],
    ['bad-paging', () => projectAccesslist.getAll({...options, 'itemsPerPage': 0})],
    ['whitelist-getAll', () => projectWhitelist.getAll(options)],
    ['whitelist-create', () => projectWhitelist.create([{'ipAddress': '192.0.2.1'}], options)]
  ];
  const out = [];
  for (const [step, call] of steps) {
    try {
      out.push({step, 'ok': true, 'data': await call()});
    } catch (error) {
      out.push({step, 'ok': false, 'error': String(error)});
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(String(error.stack || error));
  process.exit(1);
});
