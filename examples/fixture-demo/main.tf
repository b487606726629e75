# The protocol fixture: a stand-in object compiled only into the provider's test build, used to
# show the provider working end to end before the Bitbucket and Arnica resources arrive.
# scripts/demo.sh runs it.
terraform {
  required_providers {
    arnica = {
      source = "arnica/arnica"
    }
  }
}

provider "arnica" {
  # A provider-level secret: never written to state, plans or logs.
  fixture_token = "demo-token"
}

resource "arnica_protocol_fixture" "parent" {
  name  = "parent"
  value = 0.1 # kept exactly: no binary floating point anywhere
  tags  = { team = "platform" }

  # Write-only: sent to the provider on create and when the version changes, never stored.
  secret_wo         = "demo-secret"
  secret_wo_version = 1
}

resource "arnica_protocol_fixture" "child" {
  # Unknown until the parent exists: planned as "(known after apply)".
  name = "child-of-${arnica_protocol_fixture.parent.id}"
}

output "parent_id" {
  value = arnica_protocol_fixture.parent.id
}

output "shout" {
  value = provider::arnica::fixture_upper("hello")
}
