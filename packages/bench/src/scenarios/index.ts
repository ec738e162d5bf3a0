import type { Figure } from "../report.js";
import type { ScenarioContext } from "../scenario.js";
import { authStorm } from "./auth-storm.js";
import { chaos } from "./chaos.js";
import { chat } from "./chat.js";
import { fuzz } from "./fuzz.js";
import { group } from "./group.js";
import { history } from "./history.js";
import { idleSessions } from "./idle-sessions.js";
import { media } from "./media.js";
import { presence } from "./presence.js";
import { push } from "./push.js";
import { resumeStorm } from "./resume-storm.js";

/** Every scenario `npm run bench` knows, by the name `--scenario` takes. */
export const scenarios: Record<string, (ctx: ScenarioContext) => Promise<Figure[]>> = {
  idle: idleSessions,
  chat,
  group,
  storm: resumeStorm,
  presence,
  "auth-storm": authStorm,
  fuzz,
  chaos,
  media,
  history,
  push,
};
