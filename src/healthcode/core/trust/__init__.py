"""Trust: the national root, province signer and publisher certificates, the one signed envelope
for every document the hub publishes, the native trust list with revocations, and a network's
keys on disk with its trust state in one store.

Modules: :mod:`.certs` (X.509 chain), :mod:`.envelope` (sealed documents), :mod:`.trustlist`
(the trust list, a KeyStore, and a checkpoint's cache), :mod:`.state` (the trust state's store
protocol and what is read out of a state), :mod:`.network` (keys on disk, changes, publishing),
:mod:`.legacy` (adopting a home of the earlier layout). The threat model: docs/security.md.
"""
