"""The catalogue's domain: projects ("beproefde projecten"), their dossier and lifecycle. No I/O here."""
