import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DevicesService } from "@messenger/proto/accounts/v1/devices_service";
import { route, type ServiceRoute } from "@messenger/rpc";
import type { Accounts } from "../domain/accounts.js";

/** The internal device directory: which devices a user has (see DevicesService). */
export function devicesRoute(deps: { accounts: Accounts }): ServiceRoute {
  return route(
    DevicesService,
    {
      async listDevices(req) {
        const devices = await deps.accounts.devices(req.userIds);
        return { devices: devices.map((d) => ({ userId: d.userId, deviceId: d.deviceId, registeredAt: timestampFromMs(d.registeredAt) })) };
      },
    },
    "internal",
  );
}
