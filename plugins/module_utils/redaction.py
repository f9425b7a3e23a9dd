# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one redaction point: everything that leaves the process goes through a :class:`Redactor`.

A run registers its secrets (keys, client secrets, tokens, OTPs) and patterns (the OTP in an approve
path) with its redactor. The client redacts its errors and request log with it; the error boundary
(``common.TargetRun``) redacts results, messages and warnings with it; and the logging filter installed
here redacts what urllib3 and requests log (urllib3 logs ``Retrying ... /approve/<otp>`` at WARNING when a
connection breaks, which Ansible's ``log_path`` would write to disk) with every redactor alive in the
process.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref

REDACTED = '********'
MIN_SECRET_CHARS = 4  # shorter values would mask ordinary words and numbers


class Redactor(object):
    """The secrets and patterns of one run."""

    def __init__(self, patterns=()):
        self._secrets = set()
        self._patterns = tuple(patterns)
        self._ordered = ()  # the secrets, longest first (a secret inside another is masked after it)
        self._lock = threading.Lock()
        _LIVE.add(self)

    def add(self, value):
        """Register a value that must never leave the process."""
        if value is None or len(str(value)) < MIN_SECRET_CHARS:
            return
        value = str(value)
        # also as Python quotes it in an exception's text (a line break as \n): a repr is not the value
        forms = {value, value.encode('unicode_escape').decode('ascii'), value.strip()}
        with self._lock:
            self._secrets.update(f for f in forms if len(f) >= MIN_SECRET_CHARS)
            self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    def secrets(self):
        """Every secret registered, as masked (for Ansible's no_log_values)."""
        return self._ordered

    def add_pattern(self, pattern, replacement):
        with self._lock:
            self._patterns += ((re.compile(pattern) if isinstance(pattern, str) else pattern, replacement),)

    def text(self, value):
        """``value`` as text with every secret masked (None stays None). Called for every string of a result:
        it reads the tuples as they stand (replaced whole on every change), without a lock."""
        if value is None:
            return None
        text = str(value)
        for pattern, replacement in self._patterns:
            text = pattern.sub(replacement, text)
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def deep(self, value):
        """A copy of a result (dicts, lists, strings) with every string redacted."""
        if isinstance(value, dict):
            return dict((self.deep(k) if isinstance(k, str) else k, self.deep(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [self.deep(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


_LIVE = weakref.WeakSet()  # every redactor of this process, for the logging filter


def redact_everywhere(text):
    """``text`` redacted with every live redactor of the process."""
    for redactor in list(_LIVE):
        text = redactor.text(text)
    return text


def _redact_record(record):
    """Format the record's message now, redacted (its arguments are gone, so nothing formats the secret
    later), and its exception and stack text likewise."""
    try:
        message = record.getMessage()
    except Exception:  # pylint: disable=broad-except  # a malformed record is not ours to break
        return
    record.msg, record.args = redact_everywhere(message), None
    if record.exc_info and not record.exc_text:
        # a formatter would print the exception (its URL) from exc_info later: the redacted text wins
        record.exc_text = redact_everywhere(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact_everywhere(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_everywhere(record.stack_info)


class _RedactingFilter(logging.Filter):
    """Redacts a record and keeps it."""

    def filter(self, record):
        _redact_record(record)
        return True


# The HTTP libraries' loggers: these and every child (urllib3.connectionpool logs "Retrying ... <url>",
# urllib3.http2.connection and others come and go with urllib3's versions).
LOGGER_PREFIXES = ('urllib3', 'requests')
# Logger filters apply only to records logged on that very logger, not on its children: named here for the
# loggers urllib3 and requests create at import. The record factory below covers any other child.
LOGGERS = ('urllib3', 'urllib3.connectionpool', 'urllib3.poolmanager', 'urllib3.connection', 'urllib3.response',
           'urllib3.util.retry', 'requests')
_FILTER = _RedactingFilter()
_INSTALL_LOCK = threading.Lock()


def _ours(name):
    return any(name == prefix or name.startswith(prefix + '.') for prefix in LOGGER_PREFIXES)


class _RedactingFactory(object):
    """Wraps the process's log record factory: a record of an HTTP library's logger (any child included) is
    redacted when it is made, before any filter, handler or formatter (Ansible's log_path) sees it."""

    def __init__(self, wrapped):
        self.wrapped = wrapped

    def __call__(self, name, *args, **kwargs):
        record = self.wrapped(name, *args, **kwargs)
        if _ours(name or ''):
            _redact_record(record)
        return record


def install_log_filter():
    """Redact every record of the HTTP libraries' loggers and their children (idempotent)."""
    with _INSTALL_LOCK:
        if not isinstance(logging.getLogRecordFactory(), _RedactingFactory):
            logging.setLogRecordFactory(_RedactingFactory(logging.getLogRecordFactory()))
        for name in LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
