"""HTTP surface: routes, request decoding, auth, errors, rendering."""
