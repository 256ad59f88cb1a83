"""The SCIM schemas Rollcall serves: one definition per attribute (RFC 7643 §4, §8.7.1).

Parsing, PATCH, projection, filtering, the discovery documents and the attribute-mapping UI
all read these definitions; nothing else in the code base restates an attribute's
characteristics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scim.errors import UnknownAttribute, invalid_path

if TYPE_CHECKING:
    from scim.filter import AttrPath

SCHEMA_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SERVICE_PROVIDER_CONFIG_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    description: str = ""

    def sub(self, name: str) -> Attribute | None:
        lowered = name.lower()
        return next((s for s in self.sub_attributes if s.name.lower() == lowered), None)


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attr(self, name: str) -> Attribute | None:
        lowered = name.lower()
        return next((a for a in self.attributes if a.name.lower() == lowered), None)


@dataclass(frozen=True)
class ResourceType:
    id: str
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[tuple[Schema, bool], ...] = ()

    @property
    def schemas(self) -> tuple[Schema, ...]:
        """The core schema followed by every extension schema."""
        return (self.schema, *(ext for ext, _ in self.extensions))

    def schema_by_urn(self, urn: str) -> Schema | None:
        lowered = urn.lower()
        return next((s for s in self.schemas if s.id.lower() == lowered), None)

    def attribute(self, name: str) -> Attribute | None:
        """A top-level attribute of the core schema or a common attribute (id, externalId, meta)."""
        return common_attribute(name) or self.schema.attr(name)


@dataclass(frozen=True)
class ResolvedAttr:
    """Where an attribute path points: common attributes resolve to the resource type's core schema."""

    schema: Schema
    attribute: Attribute
    sub: Attribute | None = None

    @property
    def target(self) -> Attribute:
        return self.sub or self.attribute


# -- common attributes (RFC 7643 §3.1) --------------------------------------------------------

ID = Attribute(
    "id",
    case_exact=True,
    mutability="readOnly",
    returned="always",
    uniqueness="server",
    description="A unique identifier for a SCIM resource as defined by the service provider.",
)
EXTERNAL_ID = Attribute(
    "externalId",
    case_exact=True,
    description="A String that is an identifier for the resource as defined by the provisioning client.",
)
META = Attribute(
    "meta",
    type="complex",
    mutability="readOnly",
    description="A complex attribute containing resource metadata.",
    sub_attributes=(
        Attribute(
            "resourceType",
            case_exact=True,
            mutability="readOnly",
            description="The name of the resource type of the resource.",
        ),
        Attribute(
            "created",
            type="dateTime",
            mutability="readOnly",
            description="The 'DateTime' that the resource was added to the service provider.",
        ),
        Attribute(
            "lastModified",
            type="dateTime",
            mutability="readOnly",
            description="The most recent DateTime that the details of this resource were updated at the "
            "service provider.",
        ),
        Attribute(
            "location",
            type="reference",
            case_exact=True,
            mutability="readOnly",
            reference_types=("uri",),
            description="The URI of the resource being returned.",
        ),
        Attribute(
            "version",
            case_exact=True,
            mutability="readOnly",
            description="The version of the resource being returned.",
        ),
    ),
)
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (ID, EXTERNAL_ID, META)


def common_attribute(name: str) -> Attribute | None:
    lowered = name.lower()
    return next((a for a in COMMON_ATTRIBUTES if a.name.lower() == lowered), None)


# -- building blocks ---------------------------------------------------------------------------

_DISPLAY_DESCRIPTION = "A human-readable name, primarily used for display purposes.  READ-ONLY."


def _display() -> Attribute:
    return Attribute("display", description=_DISPLAY_DESCRIPTION)


def _type(description: str, canonical: tuple[str, ...] = ()) -> Attribute:
    return Attribute("type", canonical_values=canonical, description=description)


def _primary(example: str) -> Attribute:
    return Attribute(
        "primary",
        type="boolean",
        description="A Boolean value indicating the 'primary' or preferred attribute value for this attribute"
        f"{example}.  The primary attribute value 'true' MUST appear no more than once.",
    )


def _multi(name: str, description: str, *subs: Attribute) -> Attribute:
    return Attribute(name, type="complex", multi_valued=True, sub_attributes=subs, description=description)


_EMAIL_DESCRIPTION = (
    "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., "
    "'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  Canonical type values of 'work', 'home', "
    "and 'other'."
)

# -- urn:ietf:params:scim:schemas:core:2.0:User (RFC 7643 §4.1, §8.7.1) ------------------------

USER_SCHEMA = Schema(
    id=USER_URN,
    name="User",
    description="User Account",
    attributes=(
        Attribute(
            "userName",
            required=True,
            uniqueness="server",
            description="Unique identifier for the User, typically used by the user to directly authenticate "
            "to the service provider.  Each User MUST include a non-empty userName value.  This identifier "
            "MUST be unique across the service provider's entire set of Users.  REQUIRED.",
        ),
        Attribute(
            "name",
            type="complex",
            description="The components of the user's real name.  Providers MAY return just the full name as a "
            "single string in the formatted sub-attribute, or they MAY return just the individual component "
            "attributes using the other sub-attributes, or they MAY return both.  If both variants are "
            "returned, they SHOULD be describing the same name, with the formatted name indicating how the "
            "component attributes should be combined.",
            sub_attributes=(
                Attribute(
                    "formatted",
                    description="The full name, including all middle names, titles, and suffixes as "
                    "appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
                ),
                Attribute(
                    "familyName",
                    description="The family name of the User, or last name in most Western languages (e.g., "
                    "'Jensen' given the full name 'Ms. Barbara J Jensen, III').",
                ),
                Attribute(
                    "givenName",
                    description="The given name of the User, or first name in most Western languages (e.g., "
                    "'Barbara' given the full name 'Ms. Barbara J Jensen, III').",
                ),
                Attribute(
                    "middleName",
                    description="The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. "
                    "Barbara J Jensen, III').",
                ),
                Attribute(
                    "honorificPrefix",
                    description="The honorific prefix(es) of the User, or title in most Western languages "
                    "(e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III').",
                ),
                Attribute(
                    "honorificSuffix",
                    description="The honorific suffix(es) of the User, or suffix in most Western languages "
                    "(e.g., 'III' given the full name 'Ms. Barbara J Jensen, III').",
                ),
            ),
        ),
        Attribute(
            "displayName",
            description="The name of the User, suitable for display to end-users.  The name SHOULD be the full "
            "name of the User being described, if known.",
        ),
        Attribute(
            "nickName",
            description="The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of "
            "'Robert'.  This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or "
            "'mpepperidge').",
        ),
        Attribute(
            "profileUrl",
            type="reference",
            reference_types=("external",),
            description="A fully qualified URL pointing to a page representing the User's online profile.",
        ),
        Attribute("title", description='The user\'s title, such as "Vice President."'),
        Attribute(
            "userType",
            description="Used to identify the relationship between the organization and the user.  Typical "
            "values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but "
            "any value may be used.",
        ),
        Attribute(
            "preferredLanguage",
            description="Indicates the User's preferred written or spoken language.  Generally used for "
            "selecting a localized user interface; e.g., 'en_US' specifies the language English and country "
            "US.",
        ),
        Attribute(
            "locale",
            description="Used to indicate the User's default location for purposes of localizing items such as "
            "currency, date time format, or numerical representations.",
        ),
        Attribute(
            "timezone",
            description="The User's time zone in the 'Olson' time zone database format, e.g., "
            "'America/Los_Angeles'.",
        ),
        Attribute(
            "active",
            type="boolean",
            description="A Boolean value indicating the User's administrative status.",
        ),
        Attribute(
            "password",
            mutability="writeOnly",
            returned="never",
            description="The User's cleartext password.  This attribute is intended to be used as a means to "
            "specify an initial password when creating a new User or to reset an existing User's password.",
        ),
        _multi(
            "emails",
            _EMAIL_DESCRIPTION,
            Attribute("value", description=_EMAIL_DESCRIPTION),
            _display(),
            _type(
                "A label indicating the attribute's function, e.g., 'work' or 'home'.",
                ("work", "home", "other"),
            ),
            _primary(", e.g., the preferred mailing address or primary email address"),
        ),
        _multi(
            "phoneNumbers",
            "Phone numbers for the User.  The value SHOULD be canonicalized by the service provider according "
            "to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'.  Canonical type values of "
            "'work', 'home', 'mobile', 'fax', 'pager', and 'other'.",
            Attribute("value", description="Phone number of the User."),
            _display(),
            _type(
                "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
                ("work", "home", "mobile", "fax", "pager", "other"),
            ),
            _primary(", e.g., the preferred phone number or primary phone number"),
        ),
        _multi(
            "ims",
            "Instant messaging addresses for the User.",
            Attribute("value", description="Instant messaging address for the User."),
            _display(),
            _type(
                "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
                ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
            ),
            _primary(", e.g., the preferred messenger or primary messenger"),
        ),
        _multi(
            "photos",
            "URLs of photos of the User.",
            Attribute(
                "value",
                type="reference",
                reference_types=("external",),
                description="URL of a photo of the User.",
            ),
            _display(),
            _type(
                "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
                ("photo", "thumbnail"),
            ),
            _primary(", e.g., the preferred photo or thumbnail"),
        ),
        _multi(
            "addresses",
            "A physical mailing address for this User.  Canonical type values of 'work', 'home', and 'other'.  "
            "This attribute is a complex type with the following sub-attributes.",
            Attribute(
                "formatted",
                description="The full mailing address, formatted for display or use with a mailing label.  "
                "This attribute MAY contain newlines.",
            ),
            Attribute(
                "streetAddress",
                description="The full street address component, which may include house number, street name, "
                "P.O. box, and multi-line extended street address information.  This attribute MAY contain "
                "newlines.",
            ),
            Attribute("locality", description="The city or locality component."),
            Attribute("region", description="The state or region component."),
            Attribute("postalCode", description="The zip code or postal code component."),
            Attribute("country", description="The country name component."),
            _type(
                "A label indicating the attribute's function, e.g., 'work' or 'home'.",
                ("work", "home", "other"),
            ),
            # §8.7.1 omits it, but §2.4 and §4.1.2 give every multi-valued attribute a primary
            # sub-attribute and IdPs send it on addresses; dropping it would lose data.
            _primary(", e.g., the preferred mailing address or primary address"),
        ),
        Attribute(
            "groups",
            type="complex",
            multi_valued=True,
            mutability="readOnly",
            description="A list of groups to which the user belongs, either through direct membership, through "
            "nested groups, or dynamically calculated.",
            sub_attributes=(
                Attribute("value", mutability="readOnly", description="The identifier of the User's group."),
                Attribute(
                    "$ref",
                    type="reference",
                    mutability="readOnly",
                    reference_types=("User", "Group"),
                    description="The URI of the corresponding 'Group' resource to which the user belongs.",
                ),
                Attribute("display", mutability="readOnly", description=_DISPLAY_DESCRIPTION),
                Attribute(
                    "type",
                    mutability="readOnly",
                    canonical_values=("direct", "indirect"),
                    description="A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
                ),
            ),
        ),
        _multi(
            "entitlements",
            "A list of entitlements for the User that represent a thing the User has.",
            Attribute("value", description="The value of an entitlement."),
            _display(),
            _type("A label indicating the attribute's function."),
            _primary(""),
        ),
        _multi(
            "roles",
            "A list of roles for the User that collectively represent who the User is, e.g., 'Student', "
            "'Faculty'.",
            Attribute("value", description="The value of a role."),
            _display(),
            _type("A label indicating the attribute's function."),
            _primary(""),
        ),
        _multi(
            "x509Certificates",
            "A list of certificates issued to the User.",
            # Binary values are caseExact (RFC 7643 §2.3.6).
            Attribute(
                "value", type="binary", case_exact=True, description="The value of an X.509 certificate."
            ),
            _display(),
            _type("A label indicating the attribute's function."),
            _primary(""),
        ),
    ),
)

# -- urn:ietf:params:scim:schemas:extension:enterprise:2.0:User (RFC 7643 §4.3, §8.7.1) ---------

ENTERPRISE_USER_SCHEMA = Schema(
    id=ENTERPRISE_USER_URN,
    name="EnterpriseUser",
    description="Enterprise User",
    attributes=(
        Attribute(
            "employeeNumber",
            description="Numeric or alphanumeric identifier assigned to a person, typically based on order of "
            "hire or association with an organization.",
        ),
        Attribute("costCenter", description="Identifies the name of a cost center."),
        Attribute("organization", description="Identifies the name of an organization."),
        Attribute("division", description="Identifies the name of a division."),
        Attribute("department", description="Identifies the name of a department."),
        Attribute(
            "manager",
            type="complex",
            description="The User's manager.  A complex type that optionally allows service providers to "
            "represent organizational hierarchy by referencing the 'id' attribute of another User.",
            sub_attributes=(
                Attribute(
                    "value",
                    description="The id of the SCIM resource representing the User's manager.  REQUIRED.",
                ),
                Attribute(
                    "$ref",
                    type="reference",
                    reference_types=("User",),
                    description="The URI of the SCIM resource representing the User's manager.  REQUIRED.",
                ),
                Attribute(
                    "displayName",
                    mutability="readOnly",
                    description="The displayName of the User's manager.  OPTIONAL and READ-ONLY.",
                ),
            ),
        ),
    ),
)

# -- urn:ietf:params:scim:schemas:core:2.0:Group (RFC 7643 §4.2, §8.7.1) -----------------------

GROUP_SCHEMA = Schema(
    id=GROUP_URN,
    name="Group",
    description="Group",
    attributes=(
        # §8.7.1 says required=false while §4.2 says REQUIRED; IdPs match groups by displayName,
        # so Rollcall requires it (and keeps it unique per tenant).
        Attribute(
            "displayName",
            required=True,
            uniqueness="server",
            description="A human-readable name for the Group.  REQUIRED.",
        ),
        Attribute(
            "members",
            type="complex",
            multi_valued=True,
            description="A list of members of the Group.",
            sub_attributes=(
                Attribute(
                    "value",
                    mutability="immutable",
                    description="Identifier of the member of this Group.",
                ),
                Attribute(
                    "$ref",
                    type="reference",
                    mutability="immutable",
                    reference_types=("User", "Group"),
                    description="The URI corresponding to a SCIM resource that is a member of this Group.",
                ),
                Attribute(
                    "type",
                    mutability="immutable",
                    canonical_values=("User", "Group"),
                    description="A label indicating the type of resource, e.g., 'User' or 'Group'.",
                ),
                # §4.2 mentions it; the server renders it from the member's own record.
                Attribute("display", mutability="readOnly", description=_DISPLAY_DESCRIPTION),
            ),
        ),
    ),
)

USER = ResourceType(
    id="User",
    name="User",
    endpoint="/Users",
    description="User Account",
    schema=USER_SCHEMA,
    extensions=((ENTERPRISE_USER_SCHEMA, False),),
)
GROUP = ResourceType(id="Group", name="Group", endpoint="/Groups", description="Group", schema=GROUP_SCHEMA)

RESOURCE_TYPES: dict[str, ResourceType] = {USER.name: USER, GROUP.name: GROUP}

# Non-RFC schema URNs seen in the wild (lowercased) -> the RFC URN they stand for. `None` marks the
# old core URNs, which mean "the core schema of whatever resource type is being written".
CORE_SCHEMA_ALIASES: dict[str, str | None] = {
    "urn:scim:schemas:core:2.0": None,
    "urn:scim:schemas:core:1.0": None,
    "urn:scim:schemas:extension:enterprise:2.0": ENTERPRISE_USER_URN,
    "urn:scim:schemas:extension:enterprise:1.0": ENTERPRISE_USER_URN,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0user": ENTERPRISE_USER_URN,  # Entra sample typo
}


def canonical_schema_urn(rtype: ResourceType, urn: str) -> tuple[str | None, bool]:
    """Map a schema URN from a request to the resource type's RFC URN.

    Returns (urn, aliased): urn is None when the URN is not a schema of this resource type;
    aliased tells whether a non-RFC spelling was translated (callers record the quirk).
    """
    schema = rtype.schema_by_urn(urn)
    if schema is not None:
        return schema.id, False
    lowered = urn.lower()
    if lowered in CORE_SCHEMA_ALIASES:
        target = CORE_SCHEMA_ALIASES[lowered] or rtype.schema.id
        return (target, True) if rtype.schema_by_urn(target) is not None else (None, True)
    return None, False


def resource_type_for_endpoint(segment: str) -> ResourceType | None:
    lowered = segment.strip("/").lower()
    return next((rt for rt in RESOURCE_TYPES.values() if rt.endpoint.strip("/").lower() == lowered), None)


def schema_for_path(rtype: ResourceType, path: AttrPath) -> Schema | None:
    """The extension (or core) schema when `path` names a whole schema URN, e.g. the enterprise URN.

    Attribute paths split at the last colon, so "urn:...:enterprise:2.0:User" arrives as
    urn="urn:...:enterprise:2.0", attr="User".
    """
    if path.urn is None or path.sub_attr is not None:
        return None
    return rtype.schema_by_urn(f"{path.urn}:{path.attr}" if path.attr else path.urn)


def resolve_path(rtype: ResourceType, path: AttrPath) -> ResolvedAttr:
    """Find the attribute an attribute path names; unknown attributes are invalidPath."""
    if path.urn is not None:
        schema = rtype.schema_by_urn(path.urn)
        if schema is None:
            raise UnknownAttribute(f"Unknown schema {path.urn} for {rtype.name}")
        attribute = schema.attr(path.attr)
        if attribute is None and schema is rtype.schema:
            attribute = common_attribute(path.attr)
    else:
        schema = rtype.schema
        attribute = rtype.attribute(path.attr)
        if attribute is None:
            # Lenient: an extension attribute written without its URN, when only one schema has it.
            candidates = [(ext, ext.attr(path.attr)) for ext, _ in rtype.extensions if ext.attr(path.attr)]
            if len(candidates) == 1:
                schema, attribute = candidates[0]
    if attribute is None:
        raise UnknownAttribute(f"Unknown attribute {_path_text(path)} for {rtype.name}")
    sub = None
    if path.sub_attr is not None:
        if attribute.type != "complex":
            raise invalid_path(f"{attribute.name} has no sub-attributes")
        sub = attribute.sub(path.sub_attr)
        if sub is None:
            raise UnknownAttribute(f"Unknown sub-attribute {attribute.name}.{path.sub_attr}")
    return ResolvedAttr(schema=schema, attribute=attribute, sub=sub)


def _path_text(path: AttrPath) -> str:
    text = f"{path.urn}:{path.attr}" if path.urn else path.attr
    return f"{text}.{path.sub_attr}" if path.sub_attr else text


# -- discovery documents (RFC 7643 §5-§7, §8.7.2) ----------------------------------------------


def attribute_document(attribute: Attribute) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": attribute.name,
        "type": attribute.type,
        "multiValued": attribute.multi_valued,
        "description": attribute.description,
        "required": attribute.required,
        "caseExact": attribute.case_exact,
        "mutability": attribute.mutability,
        "returned": attribute.returned,
        "uniqueness": attribute.uniqueness,
    }
    if attribute.canonical_values:
        doc["canonicalValues"] = list(attribute.canonical_values)
    if attribute.reference_types:
        doc["referenceTypes"] = list(attribute.reference_types)
    if attribute.type == "complex":
        doc["subAttributes"] = [attribute_document(sub) for sub in attribute.sub_attributes]
    return doc


def schema_document(schema: Schema, location: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA_URN],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": [attribute_document(a) for a in schema.attributes],
        "meta": {"resourceType": "Schema", "location": location},
    }


def resource_type_document(rtype: ResourceType, location: str) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA_URN],
        "id": rtype.id,
        "name": rtype.name,
        "endpoint": rtype.endpoint,
        "description": rtype.description,
        "schema": rtype.schema.id,
        "schemaExtensions": [{"schema": ext.id, "required": required} for ext, required in rtype.extensions],
        "meta": {"resourceType": "ResourceType", "location": location},
    }


def service_provider_config(
    *,
    base_url: str,
    documentation_uri: str,
    max_results: int,
    bulk_max_operations: int,
    bulk_max_payload: int,
    default_page_size: int | None = None,
) -> dict[str, Any]:
    """The ServiceProviderConfig document; every value here must match what the server does (C-47)."""
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA_URN],
        "documentationUri": documentation_uri,
        "patch": {"supported": True},
        "bulk": {"supported": True, "maxOperations": bulk_max_operations, "maxPayloadSize": bulk_max_payload},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        # RFC 9865: index pagination stays the default because Okta and Entra page by startIndex.
        "pagination": {
            "cursor": False,
            "index": True,
            "defaultPaginationMethod": "index",
            "defaultPageSize": min(default_page_size or max_results, max_results),
            "maxPageSize": max_results,
        },
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token issued for one SCIM connection.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "documentationUri": documentation_uri,
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url.rstrip('/')}/ServiceProviderConfig",
        },
    }
