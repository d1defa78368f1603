// The country code table of the GeoIP Legacy country editions: a leaf of the tree holds an
// index into it (legacy-country.ts). The order is part of the file format, so it is fixed; it
// was read from the table Debian 12's libgeoip1 (1.6.12) exports as GeoIP_country_code, and a
// test checks lookups against geoiplookup's answers. Most entries are ISO 3166-1 alpha-2 codes;
// the others are the format's own: "--" (unknown), "AP" (Asia/Pacific) and "EU" (Europe) for
// ranges assigned to a region, "A1" (anonymous proxy), "A2" (satellite provider), "O1" (other).

/** LEGACY_COUNTRY_CODES holds the code of each country index, 0 to 255. */
export const LEGACY_COUNTRY_CODES: readonly string[] = `
  -- AP EU AD AE AF AG AI AL AM CW AO AQ AR AS AT
  AU AW AZ BA BB BD BE BF BG BH BI BJ BM BN BO BR
  BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM
  CN CO CR CU CV CX CY CZ DE DJ DK DM DO DZ EC EE
  EG EH ER ES ET FI FJ FK FM FO FR SX GA GB GD GE
  GF GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
  HN HR HT HU ID IE IL IN IO IQ IR IS IT JM JO JP
  KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK
  LR LS LT LU LV LY MA MC MD MG MH MK ML MM MN MO
  MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG
  NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
  PN PR PS PT PW PY QA RE RO RU RW SA SB SC SD SE
  SG SH SI SJ SK SL SM SN SO SR ST SV SY SZ TC TD
  TF TG TH TJ TK TM TN TO TL TR TT TV TW TZ UA UG
  UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT RS
  ZA ZM ME ZW A1 A2 O1 AX GG IM JE BL MF BQ SS O1
`
  .trim()
  .split(/\s+/);

/** NOT_COUNTRIES are the table's codes that name no ISO 3166-1 country. */
const NOT_COUNTRIES = new Set(['--', 'AP', 'EU', 'A1', 'A2', 'O1']);

/** ISO_COUNTRIES are the ISO 3166-1 alpha-2 codes the legacy databases can answer. */
export const ISO_COUNTRIES: ReadonlySet<string> = new Set(LEGACY_COUNTRY_CODES.filter((c) => !NOT_COUNTRIES.has(c)));
