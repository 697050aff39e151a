"""The assessment's domain: assessments against the afwegingskader, reviews and decisions. No I/O here."""
