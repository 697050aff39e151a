-- Keyset pages of GET /v1/labs (issue 13): labs in (created_at, id) order.
CREATE INDEX labs_page ON labs (created_at, id);
