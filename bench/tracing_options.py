"""The cold-start cost of each way to keep X-Ray tracing, as a ratio to a bare `import boto3` (each body
also imports boto3 and the Powertools logger, as every handler does): the figures in docs/decisions.md.

    .venv/bin/python bench/tracing_options.py [--repeat 9]"""

from __future__ import annotations

import argparse

from bench.fresh_imports import ratios_to_boto3

_COMMON = "import boto3\nfrom aws_lambda_powertools.logging import Logger\nLogger(service='panic-button')\n"
OPTIONS = {
    # Powertools Tracer as the handlers had it: aws_xray_sdk.core and patch_all() at import.
    "tracer_patch_all": _COMMON + "from aws_lambda_powertools import Tracer\nTracer(service='panic-button')",
    # The same Tracer patching botocore only: the SDK import stays. A tracer built lazily pays exactly
    # this inside the first invoke instead of at import, and the first invoke is a cold start too.
    "tracer_patch_botocore": _COMMON + "from aws_lambda_powertools import Tracer\n"
                                       "Tracer(service='panic-button', patch_modules=['botocore'])",
    # No SDK in the function: Lambda's active tracing still records the function's segments.
    "active_tracing_only": _COMMON,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    for name, ratio in ratios_to_boto3(OPTIONS, repeat=parser.parse_args().repeat).items():
        print(f"{name}={ratio:.2f}")


if __name__ == "__main__":
    main()
