"""Runs one Pulumi Python program for language_host.py, in the program's own interpreter.

The host starts ``<virtualenv>/bin/python -u run_program.py '<json>'`` with the stack config
in ``PULUMI_CONFIG`` and ``PULUMI_CONFIG_SECRET_KEYS``. This connects the SDK to the engine
and the resource monitor, runs the program's entry point as ``__main__`` inside the stack
resource, and exits 0 (done), 1 (a ``pulumi.RunError``, reported) or 32 (any other error,
reported here with its traceback: the host tells the engine not to add its own).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import runpy
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor

import pulumi
import pulumi.runtime

BAIL = 32


def main(request: dict) -> int:
    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
    settings = pulumi.runtime.Settings(
        project=request["project"],
        stack=request["stack"],
        monitor=request["monitor"],
        engine=request["engine"],
        parallel=request["parallel"],
        dry_run=request["dry_run"],
        organization=request["organization"] or None,
        root_directory=request["root_directory"] or None,
    )
    pulumi.runtime.configure(settings)
    if request["pwd"]:
        os.chdir(request["pwd"])
    program = request["program"]
    sys.argv = [program, *request["args"]]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    executor = ThreadPoolExecutor(max_workers=max(request["parallel"], 1) * 4)
    loop.set_default_executor(executor)
    # A failed resource leaves futures nobody awaits; asyncio would log each of them.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
        return 0
    except pulumi.RunError as exc:
        pulumi.log.error(str(exc))
        return 1
    except Exception:
        pulumi.log.error("Program failed with an unhandled exception:\n" + traceback.format_exc())
        return BAIL
    finally:
        executor.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
