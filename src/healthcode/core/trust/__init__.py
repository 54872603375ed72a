"""Trust: the national root and province signer certificates, the one signed envelope for every
document the hub publishes, the native trust list with revocations, and a network's keys on disk.

Modules: :mod:`.certs` (X.509 chain), :mod:`.envelope` (sealed documents), :mod:`.trustlist`
(the trust list, a KeyStore, and a checkpoint's cache), :mod:`.network` (keys on disk).
"""
