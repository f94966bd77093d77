/**
 * The command table of `vaultgate <resource> <verb>` as plain data: names, flags and help sentences.
 * The parser (args.ts), the help (help.ts, also shown by the server's `--help`) and docs/cli.md's test
 * all read this one table; what each verb does is in resources.ts.
 */

export interface FlagDef {
  /** Without the leading dashes. */
  readonly name: string;
  /** The value's placeholder in help (FILE, ID, …); absent for a boolean flag. */
  readonly value?: string;
  readonly help: string;
  readonly required?: boolean;
  /** May be given more than once. */
  readonly multiple?: boolean;
}

export interface VerbDef {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** `ID` when the verb takes the resource's id as its one positional argument. */
  readonly positional?: 'ID';
  readonly usage: string;
  readonly summary: string;
  readonly flags: readonly FlagDef[];
  readonly examples?: readonly string[];
}

export interface ResourceDef {
  readonly name: string;
  readonly summary: string;
  readonly verbs: readonly VerbDef[];
}

/** Accepted by every command, export and apply included (connection), and by every verb (output). */
export const CONNECTION_FLAGS: readonly FlagDef[] = [
  {
    name: 'url',
    value: 'URL',
    help: 'the management API, e.g. https://vaultgate.internal:9000 (default: VAULTGATE_URL, else http://127.0.0.1:9000)',
  },
  {
    name: 'token-file',
    value: 'FILE',
    help: 'read the API token from FILE ("-": stdin) (default: VAULTGATE_TOKEN); there is no flag for the token itself',
  },
  {
    name: 'ca-file',
    value: 'FILE',
    help: "PEM bundle to trust for an HTTPS admin listener (default: VAULTGATE_CA_FILE, else Node's roots)",
  },
];

export const OUTPUT_FLAGS: readonly FlagDef[] = [
  { name: 'json', help: "print the API's data as JSON (for scripts) instead of a table" },
  { name: 'help', help: 'print this help (also -h)' },
];

const VAULT: FlagDef = { name: 'vault', value: 'ID', help: 'the vault (tnt…)', required: true };

const list = (what: string, vault: boolean, extra: readonly FlagDef[] = []): VerbDef => ({
  name: 'list',
  usage: `list${vault ? ' --vault ID' : ''}${extra.length > 0 ? ' [filters]' : ''}`,
  summary: `List ${what} as a table (every page).`,
  flags: vault ? [VAULT, ...extra] : extra,
});

const get = (what: string, vault: boolean): VerbDef => ({
  name: 'get',
  positional: 'ID',
  usage: `get ID${vault ? ' --vault ID' : ''}`,
  summary: `Show one ${what}, every field.`,
  flags: vault ? [VAULT] : [],
});

const del = (what: string, vault: boolean, extra: readonly FlagDef[] = []): VerbDef => ({
  name: 'delete',
  positional: 'ID',
  usage: `delete ID${vault ? ' --vault ID' : ''}${extra.length > 0 ? ' [--force]' : ''}`,
  summary: `Delete one ${what}.`,
  flags: vault ? [VAULT, ...extra] : extra,
});

/** Key material from files: never from the command line itself, where `ps` and shell history see it. */
const MATERIAL: readonly FlagDef[] = [
  {
    name: 'cert',
    value: 'FILE',
    help: 'PEM certificate, optionally followed by its chain (or a PEM bundle that also holds the key)',
  },
  { name: 'key', value: 'FILE', help: 'PEM private key (PKCS#8, PKCS#1 or SEC1; encrypted or not)' },
  { name: 'chain', value: 'FILE', help: 'PEM intermediates, appended to --cert' },
  { name: 'p12', value: 'FILE', help: 'PKCS#12 (.p12/.pfx) file, instead of --cert and --key' },
  {
    name: 'passphrase-file',
    value: 'FILE',
    help: 'the passphrase of an encrypted key or PKCS#12 ("-": stdin; one trailing newline is dropped)',
  },
];

export const RESOURCES: readonly ResourceDef[] = [
  {
    name: 'vaults',
    summary: 'Vaults: each has its own routes, credentials, certificates and hostnames.',
    verbs: [
      list('vaults', false),
      get('vault', false),
      {
        name: 'create',
        usage: 'create --name NAME [--environment sandbox|live]',
        summary: 'Create a vault (with its own outbound CA).',
        flags: [
          { name: 'name', value: 'NAME', help: 'the vault’s name', required: true },
          { name: 'environment', value: 'ENV', help: 'sandbox (default) or live' },
        ],
        examples: ['vaultgate vaults create --name Payments --environment live'],
      },
      del('vault', false, [
        { name: 'force', help: 'also delete its routes, credentials, certificates and hostnames' },
      ]),
    ],
  },
  {
    name: 'credentials',
    summary: "Access credentials of a vault's outbound proxy (username and password).",
    verbs: [
      list('access credentials (without passwords)', true),
      get('access credential (without its password)', true),
      {
        name: 'create',
        usage: 'create --vault ID [--description TEXT]',
        summary:
          'Create an access credential. Its password is printed this once: vaultgate keeps only a keyed hash of it.',
        flags: [VAULT, { name: 'description', value: 'TEXT', help: 'what the credential is for' }],
        examples: ['vaultgate credentials create --vault tntabc12345 --description "billing service"'],
      },
      del('access credential', true),
    ],
  },
  {
    name: 'routes',
    summary: 'Routes, with the attribute names of VGS route configuration.',
    verbs: [
      list('routes', true),
      get('route', true),
      {
        name: 'create',
        usage: 'create --vault ID (--file FILE | --destination-override-endpoint URL [flags])',
        summary:
          'Create a route from flags, from a JSON file holding the API body, or both (flags override the file). ' +
          'An inbound route forwards to the URL in --destination-override-endpoint; an outbound route has "*" there and matches upstream hosts with --host-endpoint.',
        flags: [
          VAULT,
          { name: 'file', value: 'FILE', help: 'JSON body of POST …/routes ("-": stdin)' },
          { name: 'id', value: 'UUID', help: 'the route’s id (default: a new one)' },
          {
            name: 'destination-override-endpoint',
            value: 'URL',
            help: 'inbound: the upstream URL; outbound: "*"',
          },
          {
            name: 'host-endpoint',
            value: 'REGEX',
            help: 'outbound: the upstream hosts it applies to (default (.*))',
          },
          { name: 'port', value: 'N', help: 'kept as VGS keeps it (informational)' },
          { name: 'protocol', value: 'NAME', help: 'kept as VGS keeps it: http' },
          { name: 'source-endpoint', value: 'CIDRS', help: 'callers allowed (default *)' },
          { name: 'name', value: 'NAME', help: 'the route’s name (the VGS tag "name")' },
          { name: 'tag', value: 'KEY=VALUE', help: 'a tag; repeat for more', multiple: true },
          {
            name: 'upstream-ca-file',
            value: 'FILE',
            help: 'PEM bundle trusted for the upstream’s certificate',
          },
          { name: 'upstream-servername', value: 'NAME', help: 'SNI sent to the upstream' },
          {
            name: 'upstream-verify',
            value: 'true|false',
            help: 'false skips checking the upstream’s certificate altogether: dangerous (default true)',
          },
        ],
        examples: [
          'vaultgate routes create --vault tntabc12345 --destination-override-endpoint https://api.customer.example --name "customer api"',
          "vaultgate routes create --vault tntabc12345 --destination-override-endpoint '*' --host-endpoint 'api\\.visa\\.com'",
          'vaultgate routes create --vault tntabc12345 --file route.json',
        ],
      },
      del('route', true),
    ],
  },
  {
    name: 'certificates',
    summary:
      'Mutual TLS client certificates, tied to an access credential (outbound) or a route (inbound). Expiry within 30 days and expired ones are marked.',
    verbs: [
      list('certificates (metadata only)', true, [
        { name: 'proxy-type', value: 'TYPE', help: 'only outbound or only inbound certificates' },
        { name: 'status', value: 'STATUS', help: 'valid, expiring_soon, expired or not_yet_valid' },
        { name: 'credential', value: 'ID', help: 'only those tied to this access credential' },
        { name: 'route', value: 'ID', help: 'only those tied to this route' },
      ]),
      get('certificate (metadata and public chain)', true),
      {
        name: 'add',
        aliases: ['create'],
        usage:
          'add --vault ID (--cert FILE [--key FILE] [--chain FILE] | --p12 FILE) [--passphrase-file FILE] (--credential ID [--hosts a,b] | --route ID)',
        summary:
          'Upload a client certificate and its private key. The key is read from a file and never leaves vaultgate again. --credential makes it an outbound certificate, --route an inbound one.',
        flags: [
          VAULT,
          ...MATERIAL,
          { name: 'credential', value: 'ID', help: 'outbound: the access credential it is tied to' },
          { name: 'route', value: 'ID', help: 'inbound: the route it is tied to' },
          {
            name: 'hosts',
            value: 'a,b',
            help: 'outbound: the upstream hosts it is presented to, comma-separated (default: any)',
          },
          { name: 'description', value: 'TEXT', help: 'e.g. Visa VDP' },
        ],
        examples: [
          'vaultgate certificates add --vault tntabc12345 --credential 0b6f… --cert client.pem --key client.key --hosts api.visa.com',
          'vaultgate certificates add --vault tntabc12345 --route 4c1d… --p12 client.p12 --passphrase-file -',
        ],
      },
      del('certificate', true),
    ],
  },
  {
    name: 'hostnames',
    summary:
      "Custom inbound hostnames, each with the user's own server certificate and optional caller mTLS.",
    verbs: [
      list('custom hostnames', true),
      get('custom hostname (metadata and public chain)', true),
      {
        name: 'create',
        usage:
          'create --vault ID --hostname NAME (--cert FILE [--key FILE] [--chain FILE] | --p12 FILE) [--passphrase-file FILE] [--client-auth MODE --client-ca-file FILE [--crl-file FILE]]',
        summary: 'Serve a custom hostname with its server certificate (which must cover the name).',
        flags: [
          VAULT,
          {
            name: 'hostname',
            value: 'NAME',
            help: 'e.g. callbacks.acme.example or *.acme.example',
            required: true,
          },
          ...MATERIAL,
          { name: 'client-auth', value: 'MODE', help: 'caller mTLS: off (default), optional or required' },
          {
            name: 'client-ca-file',
            value: 'FILE',
            help: "PEM bundle of the CAs that issue callers' certificates",
          },
          { name: 'crl-file', value: 'FILE', help: 'PEM CRLs of revoked callers' },
        ],
        examples: [
          'vaultgate hostnames create --vault tntabc12345 --hostname callbacks.acme.example --cert server.pem --key server.key',
        ],
      },
      del('custom hostname', true),
    ],
  },
  {
    name: 'tokens',
    summary: 'API tokens and their roles (admin, operator, viewer).',
    verbs: [
      list('API tokens (never the tokens themselves)', false),
      get('API token (its metadata)', false),
      {
        name: 'create',
        usage: 'create --name NAME --role admin|operator|viewer [--expires-at TIME]',
        summary:
          'Create an API token. The token is printed this once: vaultgate keeps only a keyed hash of it.',
        flags: [
          { name: 'name', value: 'NAME', help: 'who or what uses it', required: true },
          { name: 'role', value: 'ROLE', help: 'admin, operator or viewer', required: true },
          { name: 'expires-at', value: 'TIME', help: 'ISO 8601 time it stops working (default: never)' },
        ],
        examples: ['vaultgate tokens create --name ci --role operator --expires-at 2027-01-01T00:00:00Z'],
      },
      del('API token (takes effect at once)', false),
    ],
  },
];

/** The commands that are not `<resource> <verb>`; their help comes from their own modules. */
export const OTHER_COMMANDS = [
  { name: 'export', summary: "write a vault's configuration as YAML (VGS route format or vaultgate's own)" },
  { name: 'apply', summary: 'create or replace what a YAML file describes, idempotently' },
  { name: 'rotate-master-key', summary: 're-seal every secret under a new master key (vaultgate stopped)' },
] as const;

export function findResource(name: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.name === name);
}

export function findVerb(resource: ResourceDef, name: string): VerbDef | undefined {
  return resource.verbs.find((v) => v.name === name || (v.aliases ?? []).includes(name));
}
