# group/user, the user by UUID or account id. The next plan adds the user to the group in every
# administered workspace where it is missing.
tofu import arnica_bitbucket_group_memberships.service_account 'administrators/{5e1c0a00-0000-4000-8000-00000000a001}'
