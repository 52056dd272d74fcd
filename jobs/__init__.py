"""Jobs: work longer than a page view (PDFs, workbooks, the ledgers' export), asked for
by a user, made by the worker and handed back under the same access rules as the page
that asked. Above ``reports`` (a job makes a report), below the web (the queue itself,
huey, is configured and run by ``webapp.queue``); Flask-free."""
