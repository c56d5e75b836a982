"""What a Lambda python3.13 container does with one invocation, for a machine without Docker.

    python3.13 -I -S tests/sam_local/lambda_container.py SPEC.json RESULT.json

Started with ``-I -S``, the interpreter sees no site-packages: only what the spec puts on the path,
in Lambda's order (the function's code, then /opt/python from its layers, then the runtime's own
boto3). It imports the handler, calls it once with the event and a context, and writes what the
handler returned (or the error Lambda would report) to RESULT.json.
"""

import importlib
import json
import sys
import time
import traceback
import uuid
from pathlib import Path


class LambdaContext:
    def __init__(self, function_name: str, memory_mb: int, timeout_seconds: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:eu-central-1:123456789012:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "$LATEST"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    result_path = Path(sys.argv[2])
    sys.path[:0] = [spec["code"], spec["opt_python"], spec["runtime"]]
    module_name, _, handler_name = spec["handler"].rpartition(".")
    context = LambdaContext(spec["function"], int(spec["memory"]), int(spec["timeout"]))
    try:
        handler = getattr(importlib.import_module(module_name), handler_name)
        outcome = {"result": handler(spec["event"], context)}
    except Exception as error:  # noqa: BLE001 - reported as Lambda reports a function error
        outcome = {"errorType": type(error).__name__, "trace": traceback.format_exc()}
    result_path.write_text(json.dumps(outcome, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
