"""The ``spaces`` command line: a thin client of the control plane's HTTP API.

    main.py       the Typer app, global options, and the one place errors become messages
    config.py     where the URL and the token come from (options, environment, files)
    client.py     HTTP calls to the control plane; answers become data or ``SpacesError``
    output.py     everything printed: consoles, stages in colour, the status view, tables
    commands/     one module per group of commands

Nothing here touches the database, the repos or the runtimes directly; only ``spaces serve``
imports the server, and only when it runs.
"""
