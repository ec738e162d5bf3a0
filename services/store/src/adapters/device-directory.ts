import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { DevicesService } from "@messenger/proto/accounts/v1/devices_service";
import type { DeviceDirectory, RegisteredDevice } from "../domain/store-and-forward.js";

/** Users per ListDevices call (the service's bound). */
const perCall = 1_000;

/** The device directory over accounts' internal DevicesService. */
export function accountsDeviceDirectory(client: Client<typeof DevicesService>): DeviceDirectory {
  return {
    async devicesOf(userIds) {
      const out: RegisteredDevice[] = [];
      for (let i = 0; i < userIds.length; i += perCall) {
        const res = await client.listDevices({ userIds: userIds.slice(i, i + perCall) });
        for (const d of res.devices) out.push({ userId: d.userId, deviceId: d.deviceId, registeredAt: d.registeredAt ? timestampMs(d.registeredAt) : 0 });
      }
      return out;
    },
  };
}
