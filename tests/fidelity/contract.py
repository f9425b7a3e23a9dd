# -*- coding: utf-8 -*-
# Copyright (c) apiaccess.ipwhitelist contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the fidelity tests share: the vendored contracts, an OpenAPI validator for one extract, the JSON
shape of a body, and the check of every recorded (request, response) pair against an extract."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

SPECS = Path(__file__).resolve().parent / 'specs'
# not part of any extract: the OAuth token endpoint, and the private ipinfo (its recorded exchange replays)
OUTSIDE_THE_EXTRACTS = ('/api/oauth/token', '/api/private/ipinfo')


def load(name):
    return json.loads((SPECS / name).read_text())


def _json(value, **parameters):
    return json.loads(value)  # media type parameters (charset) do not matter for JSON


def openapi_for(spec, url, media, adjust=None):
    """A validator for ``spec`` served at ``url``, with the documented quirks of real traffic applied:
    errors carry plain strings in ``parameters`` (e.g. [caller IP]) where the extracts say objects, and
    ``adjust(spec)`` for the extract's own quirks."""
    spec = copy.deepcopy(spec)
    spec['servers'] = [{'url': url}]
    spec['components']['schemas']['ApiError']['properties']['parameters']['items'] = {}
    if adjust:
        adjust(spec)
    return OpenAPI.from_dict(spec, config=Config(extra_media_type_deserializers={media: _json}))


def shape(value):
    """The JSON shape: keys and types, recursively (values differ between runs)."""
    if isinstance(value, dict):
        return dict((k, shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def validate_all(openapi, exchanges, media, skip=None):
    """Validate every recorded request and its answer; returns how many were checked. Digest challenge legs
    are checked too (their body is the recorded ApiError); skipped: the endpoints outside the extracts, and
    what ``skip(request)`` says."""
    checked = 0
    for request, response in exchanges:
        if request.path_url.startswith(OUTSIDE_THE_EXTRACTS) or (skip and skip(request)):
            continue
        openapi_request = RequestsOpenAPIRequest(request)
        openapi.validate_request(openapi_request)
        if response.status_code == 204:
            # the extracts declare a media type without a schema on 204; the real answer is empty [R]
            assert response.content == b'' and response.headers['Content-Type'].startswith(media)
        else:
            openapi.validate_response(openapi_request, RequestsOpenAPIResponse(response))
        checked += 1
    return checked
