export { createOutboundServers } from './servers.js';
export type { OutboundServers } from './servers.js';
