"""People: jurisdictions, users and their roles, related parties, API tokens and
signed-in sessions -- and the first answer to each API request that moves money.

People are domain, not web. This package sits below ``ledger`` and ``grants`` in the order
of imports (webapp -> migrations -> jobs -> reports -> grants -> ledger -> people -> audit -> core),
and its tables below theirs: a project names the user who submitted it, an allocation
proposal the finance user who proposed it, so ``users`` must be something they may point
down at. The web layer only signs people in (flask-login's user loader, the session
cookie); everything here receives a ``Session`` and an ``Actor``.

A user belongs to a jurisdiction, and a jurisdiction's books are its fund. The jurisdiction
is the identity -- code, names, level, the city above a county -- and lives here, in
``jurisdictions``; ``ledger.models.Fund`` extends it with the books (chart, opening day,
closed periods, chain head) through joined-table inheritance: ``funds.id`` is the
jurisdiction's id and a foreign key to it. So users point sideways at ``jurisdictions``,
the ledger's tables point at ``funds`` as before, and ``Fund.code`` or ``Fund.parent_id``
still read the one row that holds them. Code here loads a ``Jurisdiction``, the ledger a
``Fund``; they are two objects for one row, and people never edit a jurisdiction's
identity (opening a fund does, in ``ledger.funds``).
"""
