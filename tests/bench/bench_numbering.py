"""What checking a list's numbers against the allowed countries and the special-service
types costs per row, beside what normalising them costs, on a generated list written the
way lists are (bench_import's): number_refusal_us_per_row, normalise_us_per_row.
WAIHU_BENCH_ROWS changes the list's length (200,000 by default here)."""

import os
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from outbound.contacts import numbering
    from outbound.contacts.normalise import normalise_phone
    from tests.bench.bench_import import generate_rows

    count = int(os.environ.get("WAIHU_BENCH_ROWS", "200000"))
    rows = [row[0] for row, _n in zip(generate_rows(count), range(count), strict=False)]
    started = time.perf_counter()
    phones = [normalise_phone(raw) for raw in rows]
    normalise = time.perf_counter() - started
    valid = [phone for phone in phones if phone]
    check = numbering.refusal_check(frozenset({"CN"}))
    started = time.perf_counter()
    refused = sum(check(phone) is not None for phone in valid)
    refusal = time.perf_counter() - started
    print(f"# {len(rows):,} rows, {len(valid):,} valid, {refused:,} refused", flush=True)
    print(f"bench: normalise_us_per_row {normalise / len(rows) * 1e6:.2f} us", flush=True)
    print(f"bench: number_refusal_us_per_row {refusal / len(valid) * 1e6:.2f} us", flush=True)


if __name__ == "__main__":
    main()
