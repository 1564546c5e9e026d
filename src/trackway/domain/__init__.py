"""The rules of identity resolution, sessions and change records.

Plain Python over the small interfaces in `ports`; nothing here knows about
HTTP or SQL.
"""
