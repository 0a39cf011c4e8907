"""What the piracy-list tests share: the fixture folder and a valid [list] header."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"

HEADER = """[list]
name = "t"
title = "Test list"
issuer = "Test authority"
jurisdiction = "IT"
source = "https://authority.example/list"
date = 2026-01-31
"""
