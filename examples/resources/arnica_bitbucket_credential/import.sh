# By the principal, the service account's e-mail. Nothing exists in Bitbucket to look up: the
# next plan verifies the configured token and records its facts in place.
tofu import arnica_bitbucket_credential.service_account arnica-service-account@example.com
