/**
 * A toy corpus for the character-level language model of examples/transformer_lm.ts (written for this
 * repository; public domain). Short, repetitive sentences, so a tiny model learns visible structure
 * (words, spaces, "the … sat on the …") in a few hundred steps.
 */
export const TINY_CORPUS = `the cat sat on the mat. the dog sat on the log. the frog sat on the log too.
a cat can nap in the sun. a dog can run in the rain. a frog can hop in the pond.
the red hen laid an egg. the brown cow gave milk. the white goat ate the hat.
the sun is hot. the moon is cold. the sea is wide and the hill is high.
one cat, two cats. one dog, two dogs. one hen, ten hens. one fox, six foxes.
the fox ran to the box. the ox ran to the fox. the box sat on the ox.
we sing a song. we ring a bell. we tell a tale. we sell a shell.
the man had a plan. the plan had a map. the map had a cat on it.
the bee is in the tree. the tree is by the sea. the sea is blue and green.
i see the cat. i see the dog. i see the frog on the log. i see the sun.
the cat and the dog are friends. the frog and the hen are friends too.
the old owl sat on the oak. the oak stood by the old stone wall.
rain on the roof, wind in the wood, snow on the hill, sun on the field.
the small ship sails on the sea. the big ship sails on the bay.
a bird can sing. a fish can swim. a cat can climb. a dog can dig.
the baker bakes bread. the farmer grows corn. the miller grinds the corn.
the cat sat on the hat. the hat sat on the mat. the mat sat on the floor.
the kid kicked the can. the can hit the van. the van went down the lane.
in the morning the sun comes up. in the evening the sun goes down.
the mouse ran up the clock. the clock struck one. the mouse ran down.
five little ducks went out one day, over the hill and far away.
the lamb is white as snow. the crow is black as coal. the rose is red.
the cat sat on the mat and the dog sat on the log and the frog sat too.
`;
