/** Offline stand-in for the `docker` plugin (see README, "Offline plugins"). */
import { pinnedVersion, serve } from "../provider";
import { container } from "./container";
import { image } from "./image";
import { network } from "./network";
import { remoteImage } from "./remoteImage";
import { volume } from "./volume";

serve(pinnedVersion("@pulumi/docker"), [network, volume, image, remoteImage, container]);
