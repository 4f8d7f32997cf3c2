"""Children and case notes are not in the admin site, on purpose.

The admin site manages reference data (staff, teams, posts, calendars, procedures). A child's record
is read only through the chokepoint, which scopes and logs each look, and a child's allocation
changes only through ``resolve.children.services.child_allocate``, which writes a case note.
"""
