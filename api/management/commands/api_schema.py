"""Writes the API's OpenAPI document to api/openapi.json (the committed copy a test
compares with the live one, so every change to the API is a deliberate one)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from api.schema import openapi_document

TARGET = Path(__file__).resolve().parents[2] / "openapi.json"


class Command(BaseCommand):
    help = "Write the OpenAPI document of /api/v1/ to api/openapi.json."

    def handle(self, *args, **options):
        TARGET.write_text(json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n")
        self.stdout.write(str(TARGET))
