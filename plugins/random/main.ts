/** Offline stand-in for the `random` plugin (see README, "Offline plugins"). */
import { pinnedVersion, serve } from "../provider";
import { randomPassword } from "./randomPassword";

serve(pinnedVersion("@pulumi/random"), [randomPassword]);
