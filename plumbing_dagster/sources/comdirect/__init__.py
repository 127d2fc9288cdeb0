"""comdirect (seed 003): a German bank's REST API, `https://api.comdirect.de` (OAuth under `/oauth`,
the API under `/api`).

Login is an OAuth password grant, a session whose TAN the customer approves (push, photoTAN or
SMS TAN), then a secondary grant for the banking scopes; the session lives as long as the chain
of refreshed tokens. Streams to come: account balances (snapshots) and account transactions (by
booking date). For now only `emulator/` exists, the local stand-in the client will be proven
against; there is no `VENDOR` yet, so the registry does not treat this package as a live vendor.
"""
