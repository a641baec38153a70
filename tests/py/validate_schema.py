"""Validate JSON documents against one of shmbus's JSON Schemas (draft 2020-12).

Usage: validate_schema.py SCHEMA_FILE  < documents   (one JSON document per line,
       or a single multi-line document). Prints "ok N" or the first error.
Needs the jsonschema package (Debian: python3-jsonschema).
"""
import json
import sys

import jsonschema


def main():
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    text = sys.stdin.read()
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not docs:
        raise SystemExit("no document to validate")
    for doc in docs:
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            raise SystemExit("invalid at %s: %s" % ("/".join(map(str, e.path)), e.message))
    print("ok", len(docs))


if __name__ == "__main__":
    main()
