# An integration made in Arnica's console, by its id in Arnica. The token cannot be read back:
# the first apply after the import sends the configured one.
tofu import arnica_bitbucket_integration.bitbucket_cloud int-1
