#!/usr/bin/env bash
# Drift check for CI: fails the job when Bitbucket or Arnica no longer match the configuration
# (a service account removed from a workspace's Administrators group, a new workspace, a revoked
# token, the integration removed or a workspace missing from Arnica's inventory).
#
# Run it in the configuration's directory after `tofu init`. It needs the same environment as an
# apply: the provider credentials (BITBUCKET_*, ATLASSIAN_ADMIN_*, ARNICA_API_TOKEN) and
# TF_VAR_service_account_token, since the write-only token is checked at every plan.
#
# Exit codes, as `plan -detailed-exitcode` has them: 0 no drift, 2 drift (the plan is printed),
# 1 the check itself failed (a plan error); any non-zero code fails the CI job.
# TOFU names the binary (default: tofu; set it to terraform for Terraform 1.11+).
set -uo pipefail

tofu="${TOFU:-tofu}"

# What changed outside OpenTofu, for the log: the refreshed objects, without proposing anything.
echo "==> Changes made outside OpenTofu (refresh only)"
"$tofu" plan -refresh-only -input=false -lock=false -no-color
refresh=$?
if [[ $refresh -ne 0 ]]; then
  echo "The refresh-only plan failed (exit $refresh); the drift check could not run." >&2
  exit 1
fi

# What apply would do. -detailed-exitcode: 0 nothing to do, 2 changes, 1 an error.
echo "==> Changes apply would make"
"$tofu" plan -detailed-exitcode -input=false -lock=false -no-color
code=$?
case $code in
  0)
    echo "No drift."
    ;;
  2)
    echo "Drift: Bitbucket or Arnica differ from the configuration (plan above). Run apply to repair it." >&2
    exit 2
    ;;
  *)
    echo "The plan failed (exit $code); the drift check could not run." >&2
    exit 1
    ;;
esac
