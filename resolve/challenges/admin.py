"""Challenges, their events, stages, responses, meetings, documents, Cafcass referrals and actions are
not in the admin site, on purpose.

The admin site manages reference data only; it neither scopes nor logs reads, so records about
children stay behind the chokepoint (``resolve.access.scoping``) and change only through their
services, which write the evidence.
"""
