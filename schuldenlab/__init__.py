"""The `schuldenlab` command: embedded platform, service runner, migrations, tokens, demo."""
