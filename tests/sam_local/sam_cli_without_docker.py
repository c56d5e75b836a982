"""``sam local invoke`` up to the moment it would start a container, run by the SAM CLI's Python.

    .venv-sam/bin/python tests/sam_local/sam_cli_without_docker.py OUT.json local invoke ...

The real SAM CLI parses the command line and samconfig.toml, reads the built template, resolves
parameters, conditions, layers and the --env-vars file. Where it would hand the function to
Docker, this writes what the container would get to OUT.json instead: the code and layer
directories, handler, runtime, architecture, time-out, the environment and the event. The test
then runs the handler as the container would (tests/sam_local/test_sam_local_invoke.py).
There is no Docker on the machines that run the tests; this is as far as SAM CLI goes without it.
"""

import json
import sys
from pathlib import Path
from typing import Any

from samcli.cli.main import cli
from samcli.commands.local.cli_common.invoke_context import InvokeContext


class _NoDocker:
    """Stands in for SAM CLI's container manager: nothing here may reach a Docker engine."""

    is_docker_reachable = True

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"the container manager was asked for {name!r}: that needs Docker")


class _CapturingRuntime:
    """Where SAM CLI's Lambda runtime would start the container, write down what it would get."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def invoke(self, function_config: Any, event: str, *args: Any, **kwargs: Any) -> None:
        self.out.write_text(
            json.dumps(
                {
                    "function": function_config.name,
                    "runtime": function_config.runtime,
                    "architecture": function_config.architecture,
                    "handler": function_config.handler,
                    "code": function_config.code_abs_path,
                    "layers": [str(layer.codeuri) for layer in function_config.layers],
                    "timeout": function_config.timeout,
                    "memory": function_config.memory,
                    "environment": function_config.env_vars.resolve(),
                    "extra_hosts": kwargs.get("extra_hosts"),
                    "event": json.loads(event),
                },
                indent=2,
            ),
            encoding="utf-8",
        )


def main() -> None:
    runtime = _CapturingRuntime(Path(sys.argv[1]))
    InvokeContext._get_container_manager = staticmethod(lambda *args: _NoDocker())  # type: ignore[method-assign]
    InvokeContext.lambda_runtime = property(lambda self: runtime)  # type: ignore[method-assign]
    cli.main(args=sys.argv[2:], prog_name="sam", standalone_mode=True)


if __name__ == "__main__":
    main()
