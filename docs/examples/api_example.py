"""The worked example of docs/api.md: a project in 雁江区 from draft to payment through
the JSON API, then the fund's balances. Standard library only.

    SPECIALFUND_URL=http://127.0.0.1:5000 \
    TOKEN_CA=... TOKEN_CO=... TOKEN_FIN1=... TOKEN_FIN2=... python docs/examples/api_example.py
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid

BASE = os.environ.get("SPECIALFUND_URL", "http://127.0.0.1:5000") + "/api/v1"


def call(token: str, method: str, path: str, body: dict | None = None,
         retry_key: str | None = None) -> dict:
    """One request; a problem document is raised as an error with its message."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if retry_key:
        headers["Idempotency-Key"] = retry_key
    # The address is the operator's own (SPECIALFUND_URL), an http(s) URL.
    request = urllib.request.Request(BASE + path, data=data, method=method,  # noqa: S310
                                     headers=headers)
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as error:
        problem = json.load(error)
        raise SystemExit(f"{method} {path}: {error.code} {problem['code']}: "
                         f"{problem['detail']}") from None


def main() -> None:
    ca, co = os.environ["TOKEN_CA"], os.environ["TOKEN_CO"]
    fin1, fin2 = os.environ["TOKEN_FIN1"], os.environ["TOKEN_FIN2"]

    # 1. Civil affairs drafts the project and submits it.
    project = call(ca, "POST", "/projects", {
        "title": "雁江区留守儿童暑期助学",
        "purpose": "Education",
        "implementing_unit": "雁江区民政局",
        "payee": "雁江区第一小学",
        "requested_amount": "50000.00",
        "budget": [{"item": "助学金", "amount": "50000.00"}],
        "counts": {"left_behind": 25},
        "tranches": [{"planned_date": "2026-12-15", "amount": "50000.00"}],
        "final_report_due": "2027-06-30",
    })
    pid = project["id"]
    print("drafted", project["ref"], project["state"])
    call(ca, "POST", f"/projects/{pid}/transitions/submit", {})

    # 2. The charity office checks it; finance approves (a commitment in the ledger).
    call(co, "POST", f"/projects/{pid}/transitions/check", {"no_conflict": True})
    project = call(fin1, "POST", f"/projects/{pid}/transitions/approve",
                   {"amount": "50000.00", "no_conflict": True}, retry_key=str(uuid.uuid4()))
    print("approved", project["approved_amount"], project["state"])

    # 3. The tranche: requested, approved for payment by another finance user, paid.
    call(ca, "POST", f"/projects/{pid}/transitions/request_tranche", {"seq": 1})
    call(fin2, "POST", f"/projects/{pid}/transitions/approve_tranche",
         {"seq": 1, "no_conflict": True})
    key = str(uuid.uuid4())  # keep it: a retry after a lost answer pays nothing twice
    payment = {"seq": 1, "bank_ref": "ICBC-API-EXAMPLE-1"}
    project = call(co, "POST", f"/projects/{pid}/transitions/pay_tranche", payment, key)
    again = call(co, "POST", f"/projects/{pid}/transitions/pay_tranche", payment, key)
    assert again == project, "a retry returns the first answer"
    print("paid", project["tranches"][0]["ledger_ref"], project["state"])

    # 4. The fund's money by purpose.
    balances = call(fin1, "GET", "/funds/YJQ/balances")
    for line in balances["purposes"]:
        print(f"{line['name_en']:<16} available {line['available']:>14}  "
              f"committed {line['committed']:>12}  paid {line['paid']:>12}")


if __name__ == "__main__":
    main()
