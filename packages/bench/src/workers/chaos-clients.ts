// Load generator for the chaos scenario: users in 1:1 pairs and groups, one raw-stream device
// each (chaos/device.ts), sending at a steady aggregate rate while the coordinator kills and
// restarts services. Each process owns whole conversations, so it audits them itself.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { GroupService } from "@messenger/proto/groups/v1/group_service";
import { HistoryService } from "@messenger/proto/history/v1/history_service";
import { ChaosDevice } from "../chaos/device.js";
import { tally, type ChaosConversation } from "../chaos/tally.js";
import { steadyRate } from "../steady-rate.js";
import { serveWorker } from "../worker-host.js";

const devices: ChaosDevice[] = [];
const conversations: ChaosConversation[] = [];
/** (device, conversation) pairs that send, taken in turn. */
const slots: { device: ChaosDevice; conversationId: string }[] = [];
let rateTimer: NodeJS.Timeout | undefined;

/** Owed deliveries not yet held by their member. */
function missing(): number {
  const t = tally(devices, conversations);
  return t.owed - t.delivered;
}

serveWorker({
  async setup(a) {
    const { urls, prefix, pairs, groups, groupSize, groupSenders } = a as {
      urls: string[];
      prefix: string;
      pairs: number;
      groups: number;
      groupSize: number;
      groupSenders: number;
    };
    const transport = createGrpcTransport({ baseUrl: urls[0]! });
    const accounts = createClient(AccountsService, transport);
    const history = createClient(HistoryService, transport);
    const groupService = createClient(GroupService, transport);
    const user = async (username: string): Promise<ChaosDevice> => {
      const reg = await accounts.register({ username, password: "bench password" });
      const login = await accounts.login({ username, password: "bench password", deviceId: "chaos" });
      const d = new ChaosDevice(reg.user!.id, login.tokens!.accessToken, urls, devices.length, username);
      devices.push(d);
      return d;
    };
    const auth = (d: ChaosDevice): { headers: { authorization: string } } => ({ headers: { authorization: `Bearer ${d.token}` } });
    for (let i = 0; i < pairs; i++) {
      const [x, y] = await Promise.all([user(`${prefix}p${i}a`), user(`${prefix}p${i}b`)]);
      const conv = await history.openDirectConversation({ peerUserId: y.userId }, auth(x));
      const conversationId = conv.conversation!.id;
      conversations.push({ conversationId, members: [x, y], senders: [x, y] });
      slots.push({ device: x, conversationId }, { device: y, conversationId });
    }
    for (let g = 0; g < groups; g++) {
      const members = await Promise.all(Array.from({ length: groupSize }, (_, i) => user(`${prefix}g${g}m${i}`)));
      const created = await groupService.createGroup({ title: `chaos ${g}`, memberUserIds: members.slice(1).map((m) => m.userId) }, auth(members[0]!));
      const conversationId = created.conversation!.id;
      const senders = members.slice(0, groupSenders);
      conversations.push({ conversationId, members, senders });
      for (const device of senders) slots.push({ device, conversationId });
    }
    await Promise.all(devices.map((d) => d.start()));
    return { devices: devices.length, conversations: conversations.length };
  },
  async start(a) {
    let i = 0;
    rateTimer = steadyRate(a.perSecond as number, () => {
      const s = slots[i++ % slots.length]!;
      s.device.sendNext(s.conversationId);
    });
    return {};
  },
  async stopSending() {
    clearInterval(rateTimer);
    return {};
  },
  async progress() {
    return { pending: devices.reduce((n, d) => n + d.pendingCount, 0), missing: missing(), synced: devices.filter((d) => d.synced).length };
  },
  async resumeAll() {
    for (const d of devices) d.resume();
    return {};
  },
  async audit() {
    return tally(devices, conversations);
  },
  async close() {
    for (const d of devices) d.close();
    return {};
  },
});
