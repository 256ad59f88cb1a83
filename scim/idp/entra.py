"""Microsoft Entra ID (Azure AD): the non-gallery "custom SCIM" provisioning job.

Confidence: high (Microsoft's SCIM endpoint, compliance and provisioning docs, many SP issues).
"""

from __future__ import annotations

from scim.idp.base import (
    Behaviour,
    ConnectionProbe,
    Deprovision,
    IdpProfile,
    Paging,
    Reactions,
    SetupField,
    SetupStep,
    credentials_step,
    mappings,
)
from scim.quirks import Quirk

# RFC-compliant PATCH (lower-case ops, JSON booleans, members[value eq] removal). Without it Entra
# speaks its legacy dialect; Rollcall accepts both, but the flag makes the request log readable.
FLAG = "aadOptscim062020"

BEHAVIOUR = Behaviour(
    user_filters=(
        'userName eq "…"',  # default matching attribute (userName <- UPN)
        'externalId eq "…"',  # when matching on mailNickname/objectId
        'emails[type eq "work"].value eq "…"',  # when the admin makes email a matching attribute
    ),
    group_filters=('displayName eq "…" (with excludedAttributes=members)',),
    connection_test='GET /Users?filter=userName eq "<random GUID>" (expects 200 with an empty list)',
    user_updates=("PATCH",),  # never PUT
    group_updates=("PATCH",),
    paging=Paging(pages=True, page_size=None),  # startIndex/count; Microsoft publishes no page size
    # Several members may share one PATCH value list; no batch size is documented for the SCIM
    # client (the often-quoted 20 is a Graph API limit, not this client's).
    member_batch_size=None,
    deprovision=(Deprovision.PATCH_ACTIVE_FALSE,),
    hard_deletes=True,  # only 30 days after the soft delete, or on a manual purge
    reactions=Reactions(
        conflict_on_create="Counts as a failed export: the object is retried in later cycles with "
        "growing intervals, and a sustained failure rate quarantines the job (cycles drop to once a "
        "day; disabled after 4 weeks). Users with active=false must stay findable or Entra re-creates them.",
        not_found="After the hard delete it expects GET /Users/{id} to answer 404. [inferred] Any other "
        "404 is a failed object, retried next cycle.",
        throttled="Retry-After handling is not documented; a Microsoft Q&A thread reports 429s pushing "
        "a tenant into quarantine. Rollcall keeps SCIM handlers fast and never throttles Entra.",
    ),
    notes=(
        "Filters use only the eq and and operators.",
        "An incremental cycle runs about every 40 minutes; the first cycle queries every user in scope.",
        "Gallery apps must sustain at least 25 requests per second per tenant.",
        "Re-sends the same PATCH each cycle (e.g. active True again): every update must be idempotent.",
        "Add and replace are used interchangeably; group PATCH should answer 204.",
        "The aadOptscim062020 flag does not apply to on-demand provisioning.",
    ),
)

PROFILE = IdpProfile(
    key="entra",
    deprovision_hints=(
        "Entra deprovisions only users that leave its scope: a user still assigned directly (or with "
        "Scope set to all users) stays active, and a user who went out of scope may be skipped rather "
        "than deactivated.",
        "Entra sends changes in cycles of about 40 minutes; Provision on demand sends this user now.",
    ),
    sync_cycle_minutes=40,
    name="Microsoft Entra ID",
    aliases=("azure", "azuread", "azure_ad", "entra_id", "entraid", "microsoft"),
    behaviour=BEHAVIOUR,
    user_agents=("azure ad scim", "microsoft.identity"),  # [inferred] Microsoft documents no User-Agent
    url_flags=(FLAG, "AzureAdScimPatch2017"),
    schema_urns=(
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",  # the typo in Microsoft's sample
    ),
    expected_quirks=frozenset(
        {
            Quirk.OP_CAPITALISED,
            Quirk.STRING_BOOLEAN,
            Quirk.PATHLESS_DOTTED_KEY,
            Quirk.PATHLESS_URN_KEY,
            Quirk.MEMBER_REMOVE_VALUE_LIST,
            Quirk.MEMBER_NULL_REF,
            Quirk.MEMBER_MISSING_TYPE,
            Quirk.BARE_ID_FOR_REFERENCE,
            Quirk.LIST_FOR_SINGLE_VALUED,
            Quirk.VALUE_FILTER_ON_SINGLE_VALUED,
            Quirk.FILTERED_ADD_CREATES_VALUE,
            Quirk.FILTER_VALUE_PATH_SUB_ATTR,
            Quirk.NONSTANDARD_SCHEMA_URN,
            Quirk.NULL_ATTRIBUTE,
            Quirk.UNKNOWN_QUERY_PARAMETER,
        }
    ),
    url_suffix=f"?{FLAG}",
    setup_steps=(
        SetupStep(
            "Create the enterprise application",
            "In the Microsoft Entra admin center open Identity > Applications > Enterprise applications > "
            'New application > Create your own application. Name it, choose "Integrate any other '
            "application you don't find in the gallery (Non-gallery)\" and click Create.",
        ),
        credentials_step(
            "Connect Entra ID to Rollcall",
            "In the app open Provisioning > Get started, set Provisioning Mode to Automatic and fill in "
            "Admin Credentials. Keep the ?aadOptscim062020 ending of the Tenant URL: it makes Entra send "
            "RFC-compliant PATCH requests. Click Test Connection (Entra looks up a random GUID as userName "
            "and expects an empty result), then Save.",
            "Tenant URL",
            "Secret Token",
            SetupField("Provisioning Mode", "Automatic"),
        ),
        SetupStep(
            "Check the attribute mappings",
            "Provisioning > Mappings > Provision Microsoft Entra ID Users: keep userName <- userPrincipalName "
            "as the matching attribute (precedence 1) and active <- Switch([IsSoftDeleted], ...). In Provision "
            "Microsoft Entra ID Groups keep displayName as the matching attribute.",
        ),
        SetupStep(
            "Assign and start",
            'Settings > Scope: "Sync only assigned users and groups". Users and groups > Add user/group to '
            "assign people and groups, then set Provisioning Status to On and Save. The first cycle starts "
            "within minutes; later cycles run about every 40 minutes.",
        ),
    ),
    # Where this IdP fills an app field differently from Rollcall's common mapping
    # (directory.mapping.COMMON_MAPPING); every other field uses the common path.
    mapping_overrides=mappings(
        ('emails[type eq "work"].value', "email"),  # mail
        ('phoneNumbers[type eq "work"].value', "phone"),  # telephoneNumber
        ("preferredLanguage", "locale"),  # Entra maps preferredLanguage, not locale
    ),
    tagline='A non-gallery enterprise application with automatic provisioning.',
    watch_out='Paste the Tenant URL exactly as shown: it already ends in ?aadOptscim062020. Set Scope to "Sync only assigned users and groups", and use Provision on demand to send one user now instead of waiting for the next cycle.',
    quiet_tips=(
        "Entra's provisioning cycle runs about every 40 minutes. To test now, open Provision on demand in the app's Provisioning blade and pick one assigned user.",
        'Test Connection (Provisioning > Admin Credentials) sends a request right away; if it never arrives, check the Tenant URL for typos.',
    ),
    probes=(ConnectionProbe("GET", "Users", filter_pattern=r'userName eq "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"'),),
)
