"""The document type every layer passes around."""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
