# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a simulator in the foreground until SIGINT/SIGTERM.

    python -m tests.simulators atlas --seed tests/simulators/seeds/atlas-demo.yml --url-file /tmp/atlas.url
    python -m tests.simulators woodcore --seed ... --set otp_ttl=60
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .atlas import AtlasSimulator
from .base import load_seed_file, write_url_file
from .woodcore import WoodcoreSimulator

SIMULATORS = {'atlas': AtlasSimulator, 'woodcore': WoodcoreSimulator}


def _setting(text):
    name, value = text.partition('=')[::2]
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.simulators', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('service', choices=sorted(SIMULATORS))
    parser.add_argument('--seed', help='YAML or JSON seed file')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0, help='0 picks a free port')
    parser.add_argument('--url-file', help='write the base URL here once listening')
    parser.add_argument('--pid-file', help='write the process ID here once listening')
    parser.add_argument('--set', action='append', default=[], type=_setting, metavar='NAME=VALUE',
                        help='a named setting (value parsed as JSON when it can be)')
    parser.add_argument('--tls-cert', help='serve HTTPS with this PEM certificate (chain)')
    parser.add_argument('--tls-key', help='private key of --tls-cert')
    args = parser.parse_args(argv)
    sim = SIMULATORS[args.service](seed=load_seed_file(args.seed), **dict(args.set))
    url = sim.start(args.host, args.port, certfile=args.tls_cert, keyfile=args.tls_key)
    if args.pid_file:
        write_url_file(args.pid_file, str(os.getpid()))
    if args.url_file:
        write_url_file(args.url_file, url)
    print('%s simulator listening on %s' % (args.service, url), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    sim.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
