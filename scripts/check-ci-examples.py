#!/usr/bin/env python3
"""Checks the CI recipes in examples/ci: each file is YAML, and each drift job installs OpenTofu,
runs `tofu init`, then examples/ci/drift-check.sh, whose exit code fails the job. The services
themselves are not reachable from here, so this is what can be checked locally."""
import pathlib
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
problems = []


def expect(condition, message):
    if not condition:
        problems.append(message)


def ordered(commands, *needles):
    """True when every needle occurs in `commands`, in this order."""
    at = 0
    for needle in needles:
        found = next((i for i in range(at, len(commands)) if needle in commands[i]), None)
        if found is None:
            return False
        at = found + 1
    return True


pipelines = yaml.safe_load((root / "examples/ci/bitbucket-pipelines.yml").read_text())
drift = pipelines["pipelines"]["custom"]["drift-check"][0]["step"]
expect(not str(pipelines.get("image", "")).startswith("ghcr.io/opentofu/opentofu"),
       "bitbucket-pipelines.yml: OpenTofu's images are not usable directly since 1.10")
expect(ordered(drift["script"], "install-opentofu.sh", "tofu init", "examples/ci/drift-check.sh"),
       "bitbucket-pipelines.yml: the drift-check step must install tofu, init, then run the script")

workflow = yaml.safe_load((root / "examples/ci/github/drift-check.yml").read_text())
triggers = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
expect("schedule" in triggers and "workflow_dispatch" in triggers,
       "github/drift-check.yml: needs a schedule and workflow_dispatch")
steps = workflow["jobs"]["drift"]["steps"]
setup = next((s for s in steps if str(s.get("uses", "")).startswith("opentofu/setup-opentofu")), None)
expect(setup is not None and setup.get("with", {}).get("tofu_wrapper") is False,
       "github/drift-check.yml: setup-opentofu with tofu_wrapper: false (keeps the exit codes)")
runs = [s.get("run", "") for s in steps]
expect(ordered(runs, "tofu init", "examples/ci/drift-check.sh"),
       "github/drift-check.yml: init, then the drift script")
env = workflow["jobs"]["drift"]["env"]
expect("TF_VAR_service_account_token" in env, "github/drift-check.yml: the token must reach the plan")

for problem in problems:
    print(problem, file=sys.stderr)
sys.exit(1 if problems else 0)
