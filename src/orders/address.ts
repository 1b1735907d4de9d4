/**
 * Country and state normalisation (pure: no I/O).
 *
 * Countries are ISO 3166-1 alpha-2 codes. A code is accepted in any case; a full English name
 * (ICU's English region names, plus the common aliases below) is converted to its code, compared
 * case-insensitively and ignoring accents, punctuation and a leading "the". US and Canadian
 * states/provinces are two-letter codes; their full names are converted too.
 */

/** Every officially assigned ISO 3166-1 alpha-2 code, plus XK (Kosovo), which carriers use. */
const CODES = (
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV ' +
  'BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET ' +
  'FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM ' +
  'IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ' +
  'ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE ' +
  'PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST ' +
  'SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS ' +
  'XK YE YT ZA ZM ZW'
).split(' ');

export const COUNTRY_CODES: ReadonlySet<string> = new Set(CODES);

/** Names people write that ICU's English names do not cover. */
const COUNTRY_ALIASES: Record<string, string> = {
  'united states of america': 'US',
  usa: 'US',
  'u s a': 'US',
  'u s': 'US',
  america: 'US',
  'great britain': 'GB',
  britain: 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
  'northern ireland': 'GB',
  uk: 'GB',
  'u k': 'GB',
  'south korea': 'KR',
  'korea republic of': 'KR',
  'republic of korea': 'KR',
  'north korea': 'KP',
  russia: 'RU',
  'russian federation': 'RU',
  'czech republic': 'CZ',
  holland: 'NL',
  'the netherlands': 'NL',
  'ivory coast': 'CI',
  'cote divoire': 'CI',
  'viet nam': 'VN',
  'hong kong sar': 'HK',
  macau: 'MO',
  'macao sar': 'MO',
  'myanmar burma': 'MM',
  burma: 'MM',
  'east timor': 'TL',
  swaziland: 'SZ',
  'cape verde': 'CV',
  macedonia: 'MK',
  'republic of ireland': 'IE',
  'vatican city': 'VA',
  'holy see': 'VA',
  'congo kinshasa': 'CD',
  'democratic republic of the congo': 'CD',
  'congo brazzaville': 'CG',
  'republic of the congo': 'CG',
  'us virgin islands': 'VI',
  'british virgin islands': 'VG',
  'taiwan province of china': 'TW',
  'iran islamic republic of': 'IR',
  'syrian arab republic': 'SY',
  'lao peoples democratic republic': 'LA',
  'bolivia plurinational state of': 'BO',
  'venezuela bolivarian republic of': 'VE',
  'tanzania united republic of': 'TZ',
  'moldova republic of': 'MD',
  turkey: 'TR',
  turkiye: 'TR',
};

/** Lower case, accents and punctuation removed, single spaces, no leading "the". */
function key(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .replace(/^the /, '');
}

const COUNTRY_BY_NAME: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  const shortNames = new Intl.DisplayNames(['en'], { type: 'region', style: 'short', fallback: 'none' });
  for (const code of CODES) {
    for (const n of [names.of(code), shortNames.of(code)]) if (n) map.set(key(n), code);
  }
  for (const [alias, code] of Object.entries(COUNTRY_ALIASES)) map.set(key(alias), code);
  return map;
})();

/** 'us' → 'US', 'Germany' → 'DE', 'Côte d’Ivoire' → 'CI'; undefined when unknown. */
export function countryCode(input: string): string | undefined {
  const s = input.trim();
  if (/^[A-Za-z]{2}$/.test(s)) {
    const up = s.toUpperCase();
    if (COUNTRY_CODES.has(up)) return up;
    if (up === 'UK') return 'GB';
    return undefined;
  }
  return COUNTRY_BY_NAME.get(key(s));
}

/** The 50 states, DC, the inhabited territories and the military "states" (AA, AE, AP). */
export const US_STATES: Readonly<Record<string, string>> = {
  AL: 'Alabama',
  AK: 'Alaska',
  AZ: 'Arizona',
  AR: 'Arkansas',
  CA: 'California',
  CO: 'Colorado',
  CT: 'Connecticut',
  DE: 'Delaware',
  DC: 'District of Columbia',
  FL: 'Florida',
  GA: 'Georgia',
  HI: 'Hawaii',
  ID: 'Idaho',
  IL: 'Illinois',
  IN: 'Indiana',
  IA: 'Iowa',
  KS: 'Kansas',
  KY: 'Kentucky',
  LA: 'Louisiana',
  ME: 'Maine',
  MD: 'Maryland',
  MA: 'Massachusetts',
  MI: 'Michigan',
  MN: 'Minnesota',
  MS: 'Mississippi',
  MO: 'Missouri',
  MT: 'Montana',
  NE: 'Nebraska',
  NV: 'Nevada',
  NH: 'New Hampshire',
  NJ: 'New Jersey',
  NM: 'New Mexico',
  NY: 'New York',
  NC: 'North Carolina',
  ND: 'North Dakota',
  OH: 'Ohio',
  OK: 'Oklahoma',
  OR: 'Oregon',
  PA: 'Pennsylvania',
  RI: 'Rhode Island',
  SC: 'South Carolina',
  SD: 'South Dakota',
  TN: 'Tennessee',
  TX: 'Texas',
  UT: 'Utah',
  VT: 'Vermont',
  VA: 'Virginia',
  WA: 'Washington',
  WV: 'West Virginia',
  WI: 'Wisconsin',
  WY: 'Wyoming',
  AS: 'American Samoa',
  GU: 'Guam',
  MP: 'Northern Mariana Islands',
  PR: 'Puerto Rico',
  VI: 'Virgin Islands',
  UM: 'United States Minor Outlying Islands',
  FM: 'Federated States of Micronesia',
  MH: 'Marshall Islands',
  PW: 'Palau',
  AA: 'Armed Forces Americas',
  AE: 'Armed Forces Europe',
  AP: 'Armed Forces Pacific',
};

export const CA_PROVINCES: Readonly<Record<string, string>> = {
  AB: 'Alberta',
  BC: 'British Columbia',
  MB: 'Manitoba',
  NB: 'New Brunswick',
  NL: 'Newfoundland and Labrador',
  NS: 'Nova Scotia',
  NT: 'Northwest Territories',
  NU: 'Nunavut',
  ON: 'Ontario',
  PE: 'Prince Edward Island',
  QC: 'Quebec',
  SK: 'Saskatchewan',
  YT: 'Yukon',
};

const REGIONS: Record<'US' | 'CA', Readonly<Record<string, string>>> = { US: US_STATES, CA: CA_PROVINCES };

function byName(table: Readonly<Record<string, string>>, extra: Record<string, string>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [code, name] of Object.entries(table)) m.set(key(name), code);
  for (const [name, code] of Object.entries(extra)) m.set(key(name), code);
  return m;
}

const REGION_BY_NAME: Record<'US' | 'CA', Map<string, string>> = {
  US: byName(US_STATES, {
    'Washington DC': 'DC',
    'Washington D.C.': 'DC',
    'US Virgin Islands': 'VI',
    'U.S. Virgin Islands': 'VI',
    Micronesia: 'FM',
  }),
  CA: byName(CA_PROVINCES, {
    Québec: 'QC',
    Newfoundland: 'NL',
    'Yukon Territory': 'YT',
    PEI: 'PE',
  }),
};

export function hasStateTable(country: string): country is 'US' | 'CA' {
  return country === 'US' || country === 'CA';
}

/** A US state or Canadian province, by code or full name → its two-letter code; undefined if unknown. */
export function regionCode(country: 'US' | 'CA', input: string): string | undefined {
  const s = input.trim();
  if (/^[A-Za-z]{2}$/.test(s)) {
    const up = s.toUpperCase();
    return up in REGIONS[country] ? up : undefined;
  }
  return REGION_BY_NAME[country].get(key(s));
}

/**
 * The country a state implies when the country is missing: a US state or a Canadian province,
 * by code or full name (the two code sets do not overlap). Undefined otherwise.
 */
export function inferCountry(state: string): { country: 'US' | 'CA'; state: string } | undefined {
  for (const country of ['US', 'CA'] as const) {
    const code = regionCode(country, state);
    if (code) return { country, state: code };
  }
  return undefined;
}
