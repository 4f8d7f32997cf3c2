"""Who may see and do what: the role-to-permission map and the one chokepoint for records.

``resolve.access.permissions`` holds the map; ``resolve.access.scoping`` scopes every query for a
child, challenge, case note or document to the person asking and logs each look;
``resolve.access.context`` carries the request in progress to the log.
"""

from resolve.access.log import access_record_list
from resolve.access.permissions import GRANTS, Perm, Scope, perm_require, user_has_perm, user_perms
from resolve.access.scoping import (
    AUTHORITY_WIDE,
    CHAIR_LINE_MANAGERS,
    CHAIRS,
    CHILD_LINE_MANAGERS,
    ChallengeWays,
    NotVisible,
    case_note_get_for_change,
    case_note_get_for_user,
    case_notes_visible_to,
    challenge_get_for_change,
    challenge_get_for_hand_over,
    challenge_get_for_user,
    challenges_visible_in_ways,
    challenges_visible_to,
    child_challenges_follow,
    child_get_for_allocation,
    child_get_for_break_glass,
    child_get_for_change,
    child_get_for_user,
    child_id_for_allocation,
    children_visible_to,
    document_get_for_user,
    documents_visible_to,
    records_viewed,
    scope_moment,
    work_get_for_hand_over,
)

__all__ = [
    "AUTHORITY_WIDE",
    "CHAIRS",
    "CHAIR_LINE_MANAGERS",
    "CHILD_LINE_MANAGERS",
    "GRANTS",
    "ChallengeWays",
    "NotVisible",
    "Perm",
    "Scope",
    "access_record_list",
    "case_note_get_for_change",
    "case_note_get_for_user",
    "case_notes_visible_to",
    "challenge_get_for_change",
    "challenge_get_for_hand_over",
    "challenge_get_for_user",
    "challenges_visible_in_ways",
    "challenges_visible_to",
    "child_challenges_follow",
    "child_get_for_allocation",
    "child_get_for_break_glass",
    "child_get_for_change",
    "child_get_for_user",
    "child_id_for_allocation",
    "children_visible_to",
    "document_get_for_user",
    "documents_visible_to",
    "perm_require",
    "records_viewed",
    "scope_moment",
    "user_has_perm",
    "user_perms",
    "work_get_for_hand_over",
]
