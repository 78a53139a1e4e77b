/**
 * LDAP attributes a person entry may carry in the standard schemas (RFC 4519 person and
 * organizationalPerson, RFC 4524 COSINE, RFC 2798 inetOrgPerson, RFC 4530 entryUUID) and
 * in Active Directory's user class. A uri template placeholder that is none of these, no
 * attribute of the mapping and no constant is refused when the config is loaded: it is
 * far more often a forgotten constant (`{domain}`) than a site-specific attribute, and a
 * forgotten constant silently skips every entry. Lower-cased (attribute names are not
 * case-sensitive).
 */
export const PERSON_ATTRIBUTES: ReadonlySet<string> = new Set(
  [
    // RFC 4519
    'cn', 'sn', 'givenName', 'initials', 'generationQualifier', 'description', 'telephoneNumber', 'facsimileTelephoneNumber',
    'title', 'o', 'ou', 'l', 'st', 'street', 'postalCode', 'postalAddress', 'postOfficeBox', 'physicalDeliveryOfficeName',
    'businessCategory', 'destinationIndicator', 'internationalISDNNumber', 'registeredAddress', 'telexNumber',
    'x121Address', 'preferredDeliveryMethod', 'seeAlso', 'c', 'serialNumber', 'uniqueIdentifier',
    // RFC 4524
    'uid', 'mail', 'mobile', 'homePhone', 'pager', 'homePostalAddress', 'roomNumber', 'info', 'drink', 'secretary', 'manager',
    // RFC 2798
    'displayName', 'employeeNumber', 'employeeType', 'departmentNumber', 'carLicense', 'labeledURI', 'preferredLanguage',
    'x500UniqueIdentifier',
    // RFC 4530
    'entryUUID',
    // Active Directory
    'sAMAccountName', 'userPrincipalName', 'ipPhone', 'otherTelephone', 'otherMobile', 'otherHomePhone', 'proxyAddresses',
    'msRTCSIP-PrimaryUserAddress', 'company', 'department', 'employeeID', 'co', 'objectGUID',
  ].map((a) => a.toLowerCase()),
);
